using CacheFlow.Testing;

namespace CacheFlow.Api.Tests;

/// <summary>
/// A redis-server and a PostgreSQL database of a test's own, for a test that does things to them (stops, kills,
/// restarts); null from <see cref="StartAsync"/> when either is not installed.
/// </summary>
public sealed class OwnServers : IAsyncDisposable
{
    private OwnServers(RedisServer redis, PostgresServer postgres, string users)
    {
        Redis = redis;
        Postgres = postgres;
        Users = users;
    }

    public RedisServer Redis { get; }

    public PostgresServer Postgres { get; }

    /// <summary>The connection string of the test's database.</summary>
    public string Users { get; }

    /// <summary>Starts both; with <paramref name="appendOnlyDirectory"/>, Redis syncs every write to an append-only file there.</summary>
    public static async Task<OwnServers?> StartAsync(string? appendOnlyDirectory = null)
    {
        if (RedisServer.Binary is null || PostgresServer.BinDirectory is null)
            return null;
        var redis = await RedisServer.StartAsync(appendOnlyDirectory);
        var postgres = await PostgresServer.StartAsync();
        return new OwnServers(redis, postgres, await postgres.CreateDatabaseAsync());
    }

    public async ValueTask DisposeAsync()
    {
        await Postgres.DisposeAsync();
        await Redis.DisposeAsync();
    }
}
