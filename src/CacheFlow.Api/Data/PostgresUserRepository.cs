using System.Data.Common;
using System.Globalization;
using FluentMigrator.Runner;
using Npgsql;

namespace CacheFlow.Api.Data;

/// <summary>Users in PostgreSQL.</summary>
public sealed class PostgresUserRepository : SqlUserRepository, IAsyncDisposable, IDisposable
{
    /// <summary>The statements each connection prepares (Npgsql's <c>Max Auto Prepare</c>) unless the connection string says otherwise.</summary>
    public const int AutoPrepared = 32;

    private readonly NpgsqlDataSource _dataSource;

    /// <summary>
    /// Uses the database of <paramref name="connectionString"/>. Calls run under <paramref name="timeout"/>
    /// (<see cref="DatabaseOptions.Timeout"/> if null), which the server enforces too: its lock and statement timeouts
    /// are set to it on every pooled connection, so a statement whose caller gave up is cancelled there even if the
    /// client's cancel request is lost.
    /// </summary>
    public PostgresUserRepository(string connectionString, TimeProvider time, TimeSpan? timeout = null) : base(time, timeout ?? DatabaseOptions.DefaultTimeout)
    {
        StartupConnectionString = connectionString;
        _dataSource = NpgsqlDataSource.Create(Pooled(connectionString, Timeout));
    }

    /// <summary>
    /// The pooled connections' settings: <paramref name="connectionString"/> bounded by <paramref name="timeout"/>, with
    /// prepared statements and no reset between uses unless it sets those itself.
    /// </summary>
    /// <remarks>
    /// Unprepared, PostgreSQL parses and plans a statement every time it runs; the API runs a handful of statements
    /// for every request, so each connection prepares them once. A pooled connection is handed out again without the
    /// reset Npgsql would send first (<c>DISCARD ALL</c>, or with prepared statements to keep, seven statements of its
    /// own): nothing the API does outlives its call in a session (no SET, temporary table, LISTEN, cursor or advisory
    /// lock; a transaction left open is rolled back on close regardless). Behind a pooler that shares server
    /// connections between transactions, set <c>Max Auto Prepare=0</c> unless it keeps track of prepared statements
    /// (PgBouncer 1.21 and later, with <c>max_prepared_statements</c>).
    /// </remarks>
    internal static NpgsqlConnectionStringBuilder Pooled(string connectionString, TimeSpan timeout)
    {
        var pooled = new NpgsqlConnectionStringBuilder(connectionString);
        var seconds = (int)Math.Min(1024, Math.Ceiling(timeout.TotalSeconds));
        var milliseconds = ((long)timeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        // Npgsql's own limits in whole seconds (its connect timeout tops out at 1024); the budget's token ends the wait first.
        pooled.Timeout = seconds;
        pooled.CommandTimeout = seconds;
        pooled.Options = $"{pooled.Options} -c lock_timeout={milliseconds} -c statement_timeout={milliseconds}".TrimStart();
        var given = new DbConnectionStringBuilder { ConnectionString = connectionString }.Keys.Cast<string>()
            .Select(k => k.Replace(" ", "", StringComparison.Ordinal)).ToHashSet(StringComparer.OrdinalIgnoreCase);
        if (!given.Contains(nameof(pooled.MaxAutoPrepare)))
            pooled.MaxAutoPrepare = AutoPrepared;
        if (!given.Contains(nameof(pooled.NoResetOnClose)))
            pooled.NoResetOnClose = true;
        return pooled;
    }

    /// <inheritdoc />
    public override string Description
    {
        get
        {
            var builder = new NpgsqlConnectionStringBuilder(StartupConnectionString);
            return $"PostgreSQL at {builder.Host}:{builder.Port}/{builder.Database}";
        }
    }

    /// <inheritdoc />
    protected override string StartupConnectionString { get; }

    /// <inheritdoc />
    protected override string SkipLocked => " FOR UPDATE SKIP LOCKED";

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    /// <inheritdoc />
    public void Dispose() => _dataSource.Dispose();

    /// <inheritdoc />
    protected override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken);

    /// <inheritdoc />
    protected override DbConnection CreateStartupConnection() => new NpgsqlConnection(StartupConnectionString);

    /// <inheritdoc />
    protected override IMigrationRunnerBuilder AddRunner(IMigrationRunnerBuilder runner) => runner.AddPostgres();

    /// <inheritdoc />
    protected override string? DuplicateField(DbException exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: { } constraint }
            ? constraint.Contains("email", StringComparison.Ordinal) ? "email"
            : constraint.Contains("username", StringComparison.Ordinal) ? "username"
            : null
            : null;

    /// <inheritdoc />
    /// <remarks>Class 22 (data exception: a value too long, a NUL in text) and class 23 (integrity constraint).</remarks>
    protected override bool IsValueError(DbException exception) =>
        exception is PostgresException { SqlState: { } state } && (state.StartsWith("22", StringComparison.Ordinal) || state.StartsWith("23", StringComparison.Ordinal));
}
