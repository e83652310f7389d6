using System.Data.Common;
using System.Globalization;
using FluentMigrator.Runner;
using Npgsql;

namespace CacheFlow.Api.Data;

/// <summary>Users in PostgreSQL.</summary>
public sealed class PostgresUserRepository : SqlUserRepository, IAsyncDisposable, IDisposable
{
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
        var bounded = new NpgsqlConnectionStringBuilder(connectionString);
        var seconds = (int)Math.Min(1024, Math.Ceiling(Timeout.TotalSeconds));
        var milliseconds = ((long)Timeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        // Npgsql's own limits in whole seconds (its connect timeout tops out at 1024); the budget's token ends the wait first.
        bounded.Timeout = seconds;
        bounded.CommandTimeout = seconds;
        bounded.Options = $"{bounded.Options} -c lock_timeout={milliseconds} -c statement_timeout={milliseconds}".TrimStart();
        _dataSource = NpgsqlDataSource.Create(bounded);
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
