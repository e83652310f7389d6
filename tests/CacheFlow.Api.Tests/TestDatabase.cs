using System.Data.Common;
using CacheFlow.Api.Data;
using CacheFlow.Testing;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace CacheFlow.Api.Tests;

/// <summary>
/// The users database of a test, reached directly as any other client would (psql, a batch job), past the API and its
/// cache: the SQLite file in an API's data folder, or a PostgreSQL database of its own.
/// </summary>
public abstract class TestDatabase
{
    /// <summary>"SQLite" or "PostgreSQL".</summary>
    public abstract string Kind { get; }

    /// <summary>What the API needs to use this database: its connection string (none for SQLite, the default in the data folder).</summary>
    public abstract IReadOnlyDictionary<string, string> Settings { get; }

    /// <summary>The API's repository on this database, as the API would make it.</summary>
    public abstract SqlUserRepository CreateRepository(TimeProvider? time = null, TimeSpan? timeout = null);

    /// <summary>Runs a statement; returns the rows it changed.</summary>
    public async Task<int> ExecuteAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteNonQueryAsync();
    }

    /// <summary>The first column of the first row, as a number.</summary>
    public async Task<long> ScalarAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The first column of every row, as text.</summary>
    public async Task<List<string>> ColumnAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<string>();
        while (await reader.ReadAsync())
            values.Add(Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)!);
        return values;
    }

    /// <summary>
    /// Holds a lock until disposed under which writers of users wait and readers of users go on (the write-behind
    /// flusher waits; the API's clash checks do not).
    /// </summary>
    public abstract Task<IAsyncDisposable> HoldWritesAsync();

    /// <summary>Holds a lock until disposed under which no one reads or writes users (<c>LOCK TABLE</c>, <c>BEGIN EXCLUSIVE</c>).</summary>
    public abstract Task<IAsyncDisposable> LockUsersAsync();

    /// <summary>Opens a connection of the test's own.</summary>
    protected abstract Task<DbConnection> OpenAsync();

    /// <summary>Opens a connection and begins a transaction with <paramref name="sql"/>; disposing it rolls back.</summary>
    protected async Task<IAsyncDisposable> HoldAsync(params string[] sql)
    {
        var connection = await OpenAsync();
        foreach (var statement in sql)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = statement;
            await command.ExecuteNonQueryAsync();
        }

        return connection;
    }
}

/// <summary>The SQLite file an API keeps in <paramref name="data"/>.</summary>
public sealed class SqliteTestDatabase(DirectoryInfo data) : TestDatabase
{
    private string Path => System.IO.Path.Combine(data.FullName, "users.db");

    public override string Kind => "SQLite";

    public override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>();

    public override SqlUserRepository CreateRepository(TimeProvider? time = null, TimeSpan? timeout = null) =>
        new SqliteUserRepository(Path, time ?? TimeProvider.System, timeout);

    // BEGIN IMMEDIATE: the write lock; readers go on.
    public override Task<IAsyncDisposable> HoldWritesAsync() => HoldAsync("BEGIN IMMEDIATE");

    // BEGIN EXCLUSIVE: in SQLite's default (rollback journal) mode, readers wait too.
    public override Task<IAsyncDisposable> LockUsersAsync() => HoldAsync("BEGIN EXCLUSIVE");

    protected override async Task<DbConnection> OpenAsync()
    {
        var connection = new SqliteConnection($"Data Source={Path};Pooling=False");
        await connection.OpenAsync();
        return connection;
    }
}

/// <summary>A PostgreSQL database of the test's own on a throwaway server.</summary>
public sealed class PostgresTestDatabase(string connectionString) : TestDatabase
{
    /// <summary>A new database on <paramref name="server"/>.</summary>
    public static async Task<PostgresTestDatabase> CreateAsync(PostgresServer server) => new(await server.CreateDatabaseAsync());

    public string ConnectionString => connectionString;

    public override string Kind => "PostgreSQL";

    public override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string> { ["ConnectionStrings:Users"] = connectionString };

    public override SqlUserRepository CreateRepository(TimeProvider? time = null, TimeSpan? timeout = null) =>
        new PostgresUserRepository(connectionString, time ?? TimeProvider.System, timeout);

    // Write-behind's applies read and write applied_requests first; the users table stays open to readers and writers.
    public override Task<IAsyncDisposable> HoldWritesAsync() => HoldAsync("BEGIN", "LOCK TABLE applied_requests IN ACCESS EXCLUSIVE MODE");

    public override Task<IAsyncDisposable> LockUsersAsync() => HoldAsync("BEGIN", "LOCK TABLE users IN ACCESS EXCLUSIVE MODE");

    protected override async Task<DbConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(connectionString + ";Pooling=false");
        await connection.OpenAsync();
        return connection;
    }
}
