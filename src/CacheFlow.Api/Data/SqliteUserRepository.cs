using System.Data.Common;
using FluentMigrator.Runner;
using Microsoft.Data.Sqlite;

namespace CacheFlow.Api.Data;

/// <summary>Users in a SQLite file: the embedded default.</summary>
public sealed class SqliteUserRepository : SqlUserRepository
{
    private const int SqliteConstraint = 19;

    private const int SqliteMismatch = 20;

    private const int SqliteTooBig = 18;

    private readonly string _bounded;

    /// <summary>
    /// Uses (and creates) the database file at <paramref name="path"/>. A call waits for a lock up to
    /// <paramref name="timeout"/> (<see cref="DatabaseOptions.Timeout"/> if null) rounded up to whole seconds: SQLite's
    /// busy wait runs inside the call, which a cancellation cannot cut short.
    /// </summary>
    public SqliteUserRepository(string path, TimeProvider time, TimeSpan? timeout = null) : base(time, timeout ?? DatabaseOptions.DefaultTimeout)
    {
        Path = path;
        StartupConnectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, DefaultTimeout = 30 }.ToString();
        _bounded = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, DefaultTimeout = (int)Math.Ceiling(Timeout.TotalSeconds) }.ToString();
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public override string Description => $"SQLite at {Path}";

    /// <inheritdoc />
    protected override string StartupConnectionString { get; }

    /// <inheritdoc />
    protected override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_bounded);
        await connection.OpenAsync(cancellationToken);
        // SQLite's own busy handler, for the same budget: Microsoft.Data.Sqlite retries a busy first step, but not a
        // later one, and the commit of an UPDATE … RETURNING (its last step) waits for other connections' readers to
        // finish. Without it two instances on one file answered "database is locked" (a 503) at once.
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = $"PRAGMA busy_timeout = {(int)Math.Ceiling(Timeout.TotalMilliseconds)}";
        await pragma.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    /// <inheritdoc />
    protected override DbConnection CreateStartupConnection() => new SqliteConnection(StartupConnectionString);

    /// <inheritdoc />
    protected override IMigrationRunnerBuilder AddRunner(IMigrationRunnerBuilder runner) => runner.AddSQLite();

    /// <inheritdoc />
    /// <remarks>
    /// A column's unique index is named by its column ("UNIQUE constraint failed: users.email"), an index on an
    /// expression by its name ("UNIQUE constraint failed: index 'ux_users_username_lower'").
    /// </remarks>
    protected override string? DuplicateField(DbException exception) =>
        exception is SqliteException { SqliteErrorCode: SqliteConstraint } e && e.Message.Contains("UNIQUE", StringComparison.Ordinal)
            ? e.Message.Contains("email", StringComparison.Ordinal) ? "email"
            : e.Message.Contains("username", StringComparison.Ordinal) ? "username"
            : null
            : null;

    /// <inheritdoc />
    /// <remarks>A constraint (other than a unique one, which the caller sees first), a type mismatch, a value too big.</remarks>
    protected override bool IsValueError(DbException exception) =>
        exception is SqliteException { SqliteErrorCode: SqliteConstraint or SqliteMismatch or SqliteTooBig };
}
