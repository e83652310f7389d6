using CacheFlow.Api.Data;
using CacheFlow.Garnet;
using CacheFlow.Testing;
using Microsoft.Data.Sqlite;
using Npgsql;
using StackExchange.Redis;

namespace CacheFlow.Bench;

/// <summary>
/// The servers a run uses: a throwaway redis-server and PostgreSQL (1,000,000 users) started from the installed
/// binaries when they are there, otherwise an embedded Garnet and a SQLite file (100,000 users); <c>--redis</c>
/// points at a Redis of your own, <c>--embedded</c> forces Garnet and SQLite.
/// </summary>
public sealed class BenchServers : IAsyncDisposable
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("cacheflow-bench-");
    private EmbeddedGarnet? _garnet;
    private RedisServer? _redisServer;
    private RedisServer? _durableRedis;
    private PostgresServer? _postgres;
    private NpgsqlDataSource? _dataSource;

    private BenchServers(bool embedded) => Embedded = embedded;

    public bool Embedded { get; }

    public string Redis { get; private set; } = "";

    public string RedisDescription { get; private set; } = "";

    public static async Task<BenchServers> StartAsync(string? redis, bool embedded)
    {
        var servers = new BenchServers(embedded || RedisServer.Binary is null || PostgresServer.BinDirectory is null);
        if (redis is not null)
        {
            (servers.Redis, servers.RedisDescription) = (redis, $"Redis at {redis}");
        }
        else if (servers.Embedded)
        {
            servers._garnet = EmbeddedGarnet.StartCache();
            (servers.Redis, servers.RedisDescription) = ($"127.0.0.1:{servers._garnet.Port}", "embedded Garnet 2.2.8 as the API starts its cache's (in the harness process, memory only)");
        }
        else
        {
            // A cache Redis: no persistence (the test fixtures' append-only file is for durable data, which the read
            // scenarios do not write; the write scenarios get a durable Redis of their own).
            servers._redisServer = await RedisServer.StartAsync(arguments: ["--appendonly", "no"]);
            var version = await RoomyAsync(servers._redisServer);
            (servers.Redis, servers.RedisDescription) = (servers._redisServer.Configuration, $"redis-server {version} (throwaway, loopback, no persistence)");
        }

        return servers;
    }

    /// <summary>A users table seeded with ids 1..N through the API's own repository, and what it is.</summary>
    public async Task<(IUserRepository Users, int Count, string Description)> CreateUsersAsync()
    {
        if (Embedded)
        {
            const int count = 100_000;
            var path = Path.Combine(_data.FullName, "users.db");
            var sqlite = new SqliteUserRepository(path, TimeProvider.System);
            await sqlite.InitializeAsync(0, CancellationToken.None);
            await using var connection = new SqliteConnection($"Data Source={path}");
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = $"""
                WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {count})
                INSERT INTO users (username, email, is_active, login_count, created_at)
                SELECT 'user' || i, 'user' || i || '@example.com', 1, i * 7 % 1000, '2026-01-01 00:00:00' FROM s;
                DELETE FROM cache_outbox;
                """;
            await command.ExecuteNonQueryAsync();
            return (sqlite, count, $"SQLite file, {count:N0} users");
        }
        else
        {
            const int count = 1_000_000;
            _postgres ??= await PostgresServer.StartAsync();
            var database = await _postgres.CreateDatabaseAsync() + ";Maximum Pool Size=64";
            _dataSource = NpgsqlDataSource.Create(database);
            var postgres = new PostgresUserRepository(database, TimeProvider.System);
            await postgres.InitializeAsync(0, CancellationToken.None);
            await using var command = _dataSource.CreateCommand($"""
                INSERT INTO users (username, email, is_active, login_count, created_at)
                SELECT 'user' || g, 'user' || g || '@example.com', true, g * 7 % 1000, timestamp '2026-01-01' FROM generate_series(1, {count}) g;
                TRUNCATE cache_outbox;
                ANALYZE users;
                """);
            // A million rows through the outbox trigger: past the default 30 s on a busy machine.
            command.CommandTimeout = 600;
            await command.ExecuteNonQueryAsync();
            var version = await _dataSource.CreateCommand("SHOW server_version").ExecuteScalarAsync();
            return (postgres, count, $"PostgreSQL {version} (throwaway, loopback, fsync off), {count:N0} users");
        }
    }

    /// <summary>
    /// The servers of the write paths: the Redis must be durable for write-behind (embedded: null, the API starts its
    /// own Garnet for durable data, which waits for its append-only file; a redis-server is started with
    /// <c>appendfsync always</c>), and a fresh users database (PostgreSQL's connection string, or null for a SQLite
    /// file the API creates).
    /// </summary>
    public async Task<(string? Redis, string Description, string? Users)> StartWriteServersAsync()
    {
        var users = await CreateUsersDatabaseAsync();
        // Embedded: the API starts its own pair, as its default does (the cache's Garnet in memory, durable data's
        // with an append-only file it waits for).
        if (Embedded)
            return (null, "embedded Garnet 2.2.8 pair as the API starts it (cache in memory; durable data with append-only file and commit wait)", users);
        if (_redisServer is null)
            return (Redis, RedisDescription, users);
        _durableRedis = await RedisServer.StartAsync(Directory.CreateDirectory(Path.Combine(_data.FullName, "aof")).FullName);
        var version = await RoomyAsync(_durableRedis);
        return (_durableRedis.Configuration, $"redis-server {version} (throwaway, loopback, appendonly yes, appendfsync always)", users);
    }

    /// <summary>A fresh, empty PostgreSQL database for the API to create and seed (its connection string), or null for a SQLite file the API creates.</summary>
    public async Task<string?> CreateUsersDatabaseAsync()
    {
        if (Embedded)
            return null;
        _postgres ??= await PostgresServer.StartAsync();
        return await _postgres.CreateDatabaseAsync();
    }

    /// <summary>
    /// Gives a throwaway server room (the tests' 128 MB without eviction would refuse writes: the Zipf tail of every
    /// variant, a day's write statuses) and returns its version.
    /// </summary>
    private static async Task<string> RoomyAsync(RedisServer redis)
    {
        await using var admin = await ConnectionMultiplexer.ConnectAsync($"{redis.Configuration},allowAdmin=true");
        var server = admin.GetServers()[0];
        await server.ConfigSetAsync("maxmemory", "4gb");
        return (await server.InfoAsync("server")).SelectMany(g => g).First(p => p.Key == "redis_version").Value;
    }

    public async ValueTask DisposeAsync()
    {
        if (_durableRedis is not null)
            await _durableRedis.DisposeAsync();
        if (_dataSource is not null)
            await _dataSource.DisposeAsync();
        if (_postgres is not null)
            await _postgres.DisposeAsync();
        if (_redisServer is not null)
            await _redisServer.DisposeAsync();
        _garnet?.Dispose();
        SqliteConnection.ClearAllPools();
        _data.Delete(recursive: true);
    }
}
