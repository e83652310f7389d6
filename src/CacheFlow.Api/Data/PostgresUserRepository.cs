using System.Data.Common;
using FluentMigrator.Runner;
using Npgsql;

namespace CacheFlow.Api.Data;

/// <summary>Users in PostgreSQL.</summary>
public sealed class PostgresUserRepository(NpgsqlDataSource dataSource, TimeProvider time) : SqlUserRepository(time)
{
    /// <inheritdoc />
    public override string Description
    {
        get
        {
            var builder = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
            return $"PostgreSQL at {builder.Host}:{builder.Port}/{builder.Database}";
        }
    }

    /// <inheritdoc />
    protected override string ConnectionString => dataSource.ConnectionString;

    /// <inheritdoc />
    protected override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await dataSource.OpenConnectionAsync(cancellationToken);

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
