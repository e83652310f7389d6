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

    /// <summary>Uses (and creates) the database file at <paramref name="path"/>.</summary>
    public SqliteUserRepository(string path, TimeProvider time) : base(time)
    {
        Path = path;
        ConnectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, DefaultTimeout = 30 }.ToString();
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public override string Description => $"SQLite at {Path}";

    /// <inheritdoc />
    protected override string ConnectionString { get; }

    /// <inheritdoc />
    protected override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

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
