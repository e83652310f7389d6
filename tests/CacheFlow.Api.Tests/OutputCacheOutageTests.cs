using CacheFlow.Testing;

namespace CacheFlow.Api.Tests;

/// <summary>
/// Output caching over CacheFlow while its throwaway redis-server is killed or hung: every request is answered by its
/// handler, none fails, and an eviction does not throw.
/// </summary>
public sealed class OutputCacheOutageTests
{
    private static readonly Uri Items = new("/items", UriKind.Relative);

    [Fact]
    public async Task AKilledRedisFailsNoRequestTheHandlerAnswersThem()
    {
        await using var redis = await StartRedisAsync();
        using var connection = redis.Connect();
        await using var app = await OutputCacheApp.StartAsync(connection, "oc:killed:");
        var cached = await app.Client.GetStringAsync(Items);
        Assert.Equal(cached, await app.Client.GetStringAsync(Items));

        redis.Kill();
        var afterKill = new[] { await app.Client.GetStringAsync(Items), await app.Client.GetStringAsync(Items) };
        await app.Store.EvictByTagAsync("items", CancellationToken.None);

        Assert.Equal("items 1", cached);
        Assert.Equal(["items 2", "items 3"], afterKill);
        Assert.True(app.Statistics.Total.Errors > 0);
    }

    [Fact]
    public async Task AHungRedisCostsABoundedWaitAndFailsNoRequest()
    {
        await using var redis = await StartRedisAsync();
        using var connection = redis.Connect();
        await using var app = await OutputCacheApp.StartAsync(connection, "oc:hung:", redisTimeout: TimeSpan.FromMilliseconds(200));
        Assert.Equal("items 1", await app.Client.GetStringAsync(Items));

        redis.Pause();
        try
        {
            var whileHung = new[] { await app.Client.GetStringAsync(Items), await app.Client.GetStringAsync(Items) };
            await app.Store.EvictByTagAsync("items", CancellationToken.None);

            Assert.Equal(["items 2", "items 3"], whileHung);
        }
        finally
        {
            redis.Resume();
        }
    }

    private static async Task<RedisServer> StartRedisAsync()
    {
        if (RedisServer.Binary is null)
            ServerRequirement.Unavailable("redis-server is not installed (apt-get install redis-server)");
        return await RedisServer.StartAsync();
    }
}
