using System.Data.Common;
using CacheFlow.Api.Data.Migrations;
using CacheFlow.Api.Users;
using Dapper;
using FluentMigrator.Runner;

namespace CacheFlow.Api.Data;

/// <summary>
/// The users table through Dapper. The SQL is the same on PostgreSQL and SQLite; the subclasses open connections,
/// pick the migration runner and recognise a unique-constraint error. Every call runs through <see cref="RunAsync"/>,
/// under one deadline (<see cref="DatabaseOptions.Timeout"/>) from the wait for a connection to its last command.
/// </summary>
public abstract partial class SqlUserRepository(TimeProvider time, TimeSpan timeout) : IUserRepository
{
    private const string InsertUser = $"INSERT INTO users (username, email, is_active, login_count, created_at) VALUES (@username, @email, @isActive, 0, @createdAt) RETURNING {Columns}";

    private const string Columns = "id, username, email, is_active, login_count, created_at";

    static SqlUserRepository() => DefaultTypeMap.MatchNamesWithUnderscores = true;

    /// <inheritdoc />
    public abstract string Description { get; }

    /// <summary>The budget of one call.</summary>
    protected TimeSpan Timeout { get; } = timeout;

    /// <summary>The connection string of the work at start (migrations, the demo seed), which no budget bounds.</summary>
    protected abstract string StartupConnectionString { get; }

    /// <summary>
    /// Opens a connection whose commands the database gives up on within the budget (its command timeout, and on
    /// PostgreSQL its lock and statement timeouts); the wait for it ends when <paramref name="cancellationToken"/> does.
    /// </summary>
    protected abstract ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Creates (unopened) a connection for the work at start, on <see cref="StartupConnectionString"/>.</summary>
    protected abstract DbConnection CreateStartupConnection();

    /// <summary>Adds this database's FluentMigrator runner.</summary>
    protected abstract IMigrationRunnerBuilder AddRunner(IMigrationRunnerBuilder runner);

    /// <summary>
    /// The lock clause of the subquery that picks outbox rows to claim: where the database has row locks, rows another
    /// relay is claiming are skipped rather than waited for.
    /// </summary>
    protected virtual string SkipLocked => "";

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
        Migrate();
        await using var connection = CreateStartupConnection();
        await connection.OpenAsync(cancellationToken);
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

    /// <summary>Runs the migrations up to <paramref name="version"/> (all of them if null), outside the budget.</summary>
    internal void Migrate(long? version = null)
    {
        using var migrations = new ServiceCollection()
            .AddFluentMigratorCore()
            .ConfigureRunner(runner => AddRunner(runner).WithGlobalConnectionString(StartupConnectionString).ScanIn(typeof(M0001_CreateUsers).Assembly).For.Migrations())
            .BuildServiceProvider(validateScopes: false);
        var runner = migrations.GetRequiredService<IMigrationRunner>();
        if (version is { } upTo)
            runner.MigrateUp(upTo);
        else
            runner.MigrateUp();
    }

    /// <summary>
    /// Opens a connection and runs <paramref name="work"/> on it under the budget: the wait for the connection, the
    /// open and every command share one deadline, whose token <paramref name="work"/> passes to each command. A
    /// deadline that fires is a <see cref="DatabaseTimeoutException"/>; a caller that gave up (the request aborted)
    /// still sees its <see cref="OperationCanceledException"/>.
    /// </summary>
    protected async Task<T> RunAsync<T>(Func<DbConnection, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Timeout);
        try
        {
            await using var connection = await OpenAsync(deadline.Token);
            return await work(connection, deadline.Token);
        }
        // A cancelled command surfaces as a cancellation, or (a connection broken by the cancel, SQLite's busy wait
        // running out first) as the client's own error.
        catch (Exception ex) when (ex is OperationCanceledException or DbException && deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new DatabaseTimeoutException(Timeout, ex);
        }
    }

    /// <inheritdoc />
    public Task PingAsync(CancellationToken cancellationToken) =>
        RunAsync((connection, ct) => connection.ExecuteScalarAsync<int>(new CommandDefinition("SELECT 1", cancellationToken: ct)), cancellationToken);

    /// <inheritdoc />
    public Task<User?> GetAsync(long id, CancellationToken cancellationToken) => RunAsync(async (connection, ct) =>
    {
        var user = await connection.QuerySingleOrDefaultAsync<User>(new CommandDefinition($"SELECT {Columns} FROM users WHERE id = @id", new { id }, cancellationToken: ct));
        return user is null ? null : AsUtc(user);
    }, cancellationToken);

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
        return await RunAsync(async (connection, ct) =>
        {
            var users = await connection.QueryAsync<User>(
                new CommandDefinition($"SELECT {Columns} FROM users WHERE id IN ({string.Join(", ", names)})", parameters, cancellationToken: ct));
            return (IReadOnlyList<User>)[.. users.Select(AsUtc)];
        }, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<UsersPage> ListAsync(int page, int limit, CancellationToken cancellationToken) =>
        new(await PageAsync(page, limit, cancellationToken), page, limit, await CountAsync(cancellationToken));

    /// <inheritdoc />
    public Task<long> CountAsync(CancellationToken cancellationToken) =>
        RunAsync((connection, ct) => connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT COUNT(*) FROM users", cancellationToken: ct)), cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<User>> PageAsync(int page, int limit, CancellationToken cancellationToken) => RunAsync(async (connection, ct) =>
    {
        // The offset walks the primary key alone (the inner SELECT reads ids, not rows), then the page is a range
        // read from the first id on: a deep page costs an index walk, not a walk over full rows. Keyset pagination
        // (a cursor) would make it constant; it needs an API change (docs/caching.md).
        var users = await connection.QueryAsync<User>(new CommandDefinition(
            $"SELECT {Columns} FROM users WHERE id >= (SELECT id FROM users ORDER BY id LIMIT 1 OFFSET @offset) ORDER BY id LIMIT @limit",
            new { limit, offset = (long)(page - 1) * limit }, cancellationToken: ct));
        return (IReadOnlyList<User>)[.. users.Select(AsUtc)];
    }, cancellationToken);

    /// <inheritdoc />
    public Task<string?> FindClashAsync(string username, string email, CancellationToken cancellationToken) =>
        RunAsync((connection, ct) => ClashAsync(connection, null, username, email, ct), cancellationToken);

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
    public Task<User> CreateAsync(string username, string email, bool isActive, CancellationToken cancellationToken)
    {
        var row = new { username, email, isActive, createdAt = UtcNow() };
        return RunAsync(async (connection, ct) =>
            AsUtc(await WithDuplicateCheck(() => connection.QuerySingleAsync<User>(new CommandDefinition(InsertUser, row, cancellationToken: ct)))), cancellationToken);
    }

    /// <inheritdoc />
    public Task<User?> UpdateAsync(long id, string? username, string? email, bool? isActive, CancellationToken cancellationToken) => RunAsync(async (connection, ct) =>
    {
        var user = await WithDuplicateCheck(() => connection.QuerySingleOrDefaultAsync<User>(new CommandDefinition(
            $"""
            UPDATE users SET username = COALESCE(@username, username), email = COALESCE(@email, email), is_active = COALESCE(@isActive, is_active)
            WHERE id = @id RETURNING {Columns}
            """,
            new { id, username, email, isActive }, cancellationToken: ct)));
        return user is null ? null : AsUtc(user);
    }, cancellationToken);

    /// <inheritdoc />
    public Task<bool> DeleteAsync(long id, CancellationToken cancellationToken) => RunAsync(async (connection, ct) =>
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM users WHERE id = @id", new { id }, cancellationToken: ct)) > 0, cancellationToken);

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
