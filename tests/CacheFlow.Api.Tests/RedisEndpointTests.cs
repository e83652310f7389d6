using CacheFlow.Api.Redis;
using CacheFlow.Testing;
using StackExchange.Redis;

namespace CacheFlow.Api.Tests;

/// <summary>
/// The API's Redis connection sends no <c>SELECT</c> after a transaction on database 0 (StackExchange.Redis does by
/// default: one command more per login and per queued write), and keeps it for another database. On a throwaway
/// redis-server, counted with <c>INFO commandstats</c>.
/// </summary>
public sealed class RedisEndpointTests
{
    /// <summary>Runs a transaction and a read on <paramref name="connection"/>; returns the SELECTs the server took meanwhile.</summary>
    private static async Task<long> SelectsAroundATransactionAsync(RedisServer server, ConnectionMultiplexer connection, int database = -1)
    {
        await using var owned = connection;
        await using var stats = server.Connect();
        var before = await SelectsAsync(stats);
        var db = connection.GetDatabase(database);
        var transaction = db.CreateTransaction();
        _ = transaction.StringIncrementAsync("counted");
        _ = transaction.StringIncrementAsync("counted");
        Assert.True(await transaction.ExecuteAsync());
        Assert.Equal(2, (long)await db.StringGetAsync("counted"));
        return await SelectsAsync(stats) - before;
    }

    private static async Task<long> SelectsAsync(ConnectionMultiplexer stats)
    {
        var info = await stats.GetServers()[0].InfoAsync("commandstats");
        var select = info.SelectMany(g => g).FirstOrDefault(p => p.Key == "cmdstat_select").Value;
        // calls=3,usec=…
        return select is null ? 0 : long.Parse(select.Split(',')[0]["calls=".Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<RedisServer?> StartAsync()
    {
        if (RedisServer.Binary is null)
        {
            ServerRequirement.Unavailable("redis-server is not installed (apt-get install redis-server)");
            return null;
        }

        return await RedisServer.StartAsync();
    }

    [Fact]
    public async Task TheApisConnectionSendsNoSelectAfterATransaction()
    {
        await using var server = await StartAsync();
        if (server is null)
            return;

        Assert.Equal(0, await SelectsAroundATransactionAsync(server, RedisEndpoint.Create(server.Configuration).Connect()));
    }

    [Fact]
    public async Task ControlAConnectionWithStackExchangeRedisDefaultsSendsASelectAfterATransaction()
    {
        await using var server = await StartAsync();
        if (server is null)
            return;

        Assert.True(await SelectsAroundATransactionAsync(server, server.Connect()) > 0);
    }

    [Fact]
    public async Task AConnectionToAnotherDatabaseKeepsItsSelectAndWritesThere()
    {
        await using var server = await StartAsync();
        if (server is null)
            return;

        Assert.True(await SelectsAroundATransactionAsync(server, RedisEndpoint.Create(server.Configuration + ",defaultDatabase=2").Connect()) > 0);
        await using var check = server.Connect();
        Assert.Equal((2, false), ((long)await check.GetDatabase(2).StringGetAsync("counted"), await check.GetDatabase(0).KeyExistsAsync("counted")));
    }
}
