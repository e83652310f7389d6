using System.Data.Common;
using CacheFlow.Api.Data.Migrations;
using CacheFlow.Api.Users;
using Dapper;
using FluentMigrator.Runner;

namespace CacheFlow.Api.Data;

/// <summary>
/// The users table through Dapper. The SQL is the same on PostgreSQL and SQLite; the subclasses open connections,
/// pick the migration runner and recognise a unique-constraint error.
/// </summary>
public abstract partial class SqlUserRepository(TimeProvider time) : IUserRepository
{
    private const string InsertUser = $"INSERT INTO users (username, email, is_active, login_count, created_at) VALUES (@username, @email, @isActive, 0, @createdAt) RETURNING {Columns}";

    private const string Columns = "id, username, email, is_active, login_count, created_at";

    static SqlUserRepository() => DefaultTypeMap.MatchNamesWithUnderscores = true;

    /// <inheritdoc />
    public abstract string Description { get; }

    /// <summary>The connection string.</summary>
    protected abstract string ConnectionString { get; }

    /// <summary>Opens a connection.</summary>
    protected abstract ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Adds this database's FluentMigrator runner.</summary>
    protected abstract IMigrationRunnerBuilder AddRunner(IMigrationRunnerBuilder runner);

    /// <summary>The clashing field if <paramref name="exception"/> is a unique-constraint violation.</summary>
    protected abstract string? DuplicateField(DbException exception);

    /// <summary>
    /// Whether <paramref name="exception"/> is the database refusing a value of the row (too long, a character it
    /// cannot store, a constraint): the write's own fault, which retrying cannot fix.
    /// </summary>
    protected abstract bool IsValueError(DbException exception);

    /// <inheritdoc />
    public async Task InitializeAsync(int seedUsers, CancellationToken cancellationToken)
    {
        using (var migrations = new ServiceCollection()
            .AddFluentMigratorCore()
            .ConfigureRunner(runner => AddRunner(runner).WithGlobalConnectionString(ConnectionString).ScanIn(typeof(M0001_CreateUsers).Assembly).For.Migrations())
            .BuildServiceProvider(validateScopes: false))
        {
            migrations.GetRequiredService<IMigrationRunner>().MigrateUp();
        }

        await using var connection = await OpenAsync(cancellationToken);
        if (seedUsers <= 0 || await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM users") > 0)
            return;
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(
            "INSERT INTO users (username, email, is_active, login_count, created_at) VALUES (@Username, @Email, @IsActive, @LoginCount, @CreatedAt)",
            DemoUsers.Create(seedUsers, UtcNow()), transaction);
        // Nothing was cached before the first user existed: the seed leaves no invalidation to relay.
        await connection.ExecuteAsync("DELETE FROM cache_outbox", transaction: transaction);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task PingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await connection.ExecuteScalarAsync<int>(new CommandDefinition("SELECT 1", cancellationToken: cancellationToken));
    }

    /// <inheritdoc />
    public async Task<User?> GetAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var user = await connection.QuerySingleOrDefaultAsync<User>(
            new CommandDefinition($"SELECT {Columns} FROM users WHERE id = @id", new { id }, cancellationToken: cancellationToken));
        return user is null ? null : AsUtc(user);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<User>> GetManyAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
            return [];
        // One parameter per id, spelled out: Dapper would send the list as one array parameter to PostgreSQL, which
        // "IN" does not take, and SQLite has no "= ANY(array)".
        var parameters = new DynamicParameters();
        var names = ids.Select((id, i) =>
        {
            parameters.Add($"id{i}", id);
            return $"@id{i}";
        }).ToList();
        await using var connection = await OpenAsync(cancellationToken);
        var users = await connection.QueryAsync<User>(
            new CommandDefinition($"SELECT {Columns} FROM users WHERE id IN ({string.Join(", ", names)})", parameters, cancellationToken: cancellationToken));
        return [.. users.Select(AsUtc)];
    }

    /// <inheritdoc />
    public async Task<UsersPage> ListAsync(int page, int limit, CancellationToken cancellationToken) =>
        new(await PageAsync(page, limit, cancellationToken), page, limit, await CountAsync(cancellationToken));

    /// <inheritdoc />
    public async Task<long> CountAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT COUNT(*) FROM users", cancellationToken: cancellationToken));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<User>> PageAsync(int page, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        // The offset walks the primary key alone (the inner SELECT reads ids, not rows), then the page is a range
        // read from the first id on: a deep page costs an index walk, not a walk over full rows. Keyset pagination
        // (a cursor) would make it constant; it needs an API change (docs/caching.md).
        var users = await connection.QueryAsync<User>(new CommandDefinition(
            $"SELECT {Columns} FROM users WHERE id >= (SELECT id FROM users ORDER BY id LIMIT 1 OFFSET @offset) ORDER BY id LIMIT @limit",
            new { limit, offset = (long)(page - 1) * limit }, cancellationToken: cancellationToken));
        return [.. users.Select(AsUtc)];
    }

    /// <inheritdoc />
    public async Task<string?> FindClashAsync(string username, string email, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await ClashAsync(connection, null, username, email, cancellationToken);
    }

    /// <summary>
    /// Which field of a new user clashes with a user the connection sees ("username" first), or null. Usernames clash
    /// whatever their case, as the <c>lower(username)</c> index has it.
    /// </summary>
    private static async Task<string?> ClashAsync(DbConnection connection, DbTransaction? transaction, string username, string email, CancellationToken cancellationToken)
    {
        var clash = await connection.QueryFirstOrDefaultAsync<string>(new CommandDefinition(
            "SELECT username FROM users WHERE lower(username) = lower(@username) OR email = @email ORDER BY lower(username) = lower(@username) DESC LIMIT 1",
            new { username, email }, transaction, cancellationToken: cancellationToken));
        return clash is null ? null : string.Equals(clash, username, StringComparison.OrdinalIgnoreCase) ? "username" : "email";
    }

    /// <inheritdoc />
    public async Task<User> CreateAsync(string username, string email, bool isActive, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var row = new { username, email, isActive, createdAt = UtcNow() };
        return AsUtc(await WithDuplicateCheck(() => connection.QuerySingleAsync<User>(new CommandDefinition(InsertUser, row, cancellationToken: cancellationToken))));
    }

    /// <inheritdoc />
    public async Task<User?> UpdateAsync(long id, string? username, string? email, bool? isActive, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var user = await WithDuplicateCheck(() => connection.QuerySingleOrDefaultAsync<User>(new CommandDefinition(
            $"""
            UPDATE users SET username = COALESCE(@username, username), email = COALESCE(@email, email), is_active = COALESCE(@isActive, is_active)
            WHERE id = @id RETURNING {Columns}
            """,
            new { id, username, email, isActive }, cancellationToken: cancellationToken)));
        return user is null ? null : AsUtc(user);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<OutboxEntry>> OutboxAsync(long upTo, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return [.. await connection.QueryAsync<OutboxEntry>(new CommandDefinition(
            "SELECT id, user_id FROM cache_outbox WHERE id <= @upTo ORDER BY id LIMIT @limit", new { upTo, limit }, cancellationToken: cancellationToken))];
    }

    /// <inheritdoc />
    public async Task<long> OutboxHorizonAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long?>(new CommandDefinition("SELECT MAX(id) FROM cache_outbox", cancellationToken: cancellationToken)) ?? 0;
    }

    /// <inheritdoc />
    public async Task ForgetOutboxAsync(IReadOnlyList<long> ids, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        // Exactly these ids: on PostgreSQL a change with a smaller id may commit after a larger one, unseen by this batch.
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM cache_outbox WHERE id IN @ids", new { ids }, cancellationToken: cancellationToken));
    }

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition("DELETE FROM users WHERE id = @id", new { id }, cancellationToken: cancellationToken)) > 0;
    }

    // The column is a plain timestamp holding UTC; Npgsql refuses a UTC-kind DateTime there, so the kind is dropped on the way in.
    private DateTime UtcNow() => DateTime.SpecifyKind(time.GetUtcNow().UtcDateTime, DateTimeKind.Unspecified);

    // Both databases hand the timestamp back with an unspecified kind; it is UTC.
    private static User AsUtc(User user) => user with { CreatedAt = DateTime.SpecifyKind(user.CreatedAt, DateTimeKind.Utc) };

    private async Task<T> WithDuplicateCheck<T>(Func<Task<T>> write)
    {
        try
        {
            return await write();
        }
        catch (DbException ex) when (DuplicateField(ex) is { } field)
        {
            throw new DuplicateUserException(field, ex);
        }
    }
}
