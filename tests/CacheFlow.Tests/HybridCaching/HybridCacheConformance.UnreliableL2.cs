using CacheFlow.Testing;

namespace CacheFlow.Tests.HybridCaching;

/// <summary>An L2 that is down or hung is invisible to callers: GetOrCreateAsync still returns the factory's value.</summary>
public abstract partial class HybridCacheConformance
{
    /// <summary>Long enough for a hung L2's client timeouts to run out; only a hang past it fails the test.</summary>
    private static readonly TimeSpan PastClientTimeouts = TimeSpan.FromSeconds(90);

    private static async Task<RedisServer> ThrowawayRedisAsync()
    {
        if (RedisServer.Binary is null)
            ServerRequirement.Unavailable("redis-server is not installed (apt-get install redis-server)");
        return await RedisServer.StartAsync();
    }

    [Fact]
    public async Task WithTheL2KilledGetOrCreateStillReturnsTheFactoryValue()
    {
        await using var server = await ThrowawayRedisAsync();
        await using var redis = server.Connect();
        var cache = NewInstance(redis);
        await Bounded(cache.SetAsync(Key() + ":before", new Frozen(1, "cached while up")));

        server.Kill();
        var loaded = await cache.GetOrCreateAsync(Key(), _ => ValueTask.FromResult(new Frozen(2, "factory"))).AsTask().WaitAsync(PastClientTimeouts);
        var cached = await cache.GetOrCreateAsync(Key() + ":before", _ => ValueTask.FromResult(new Frozen(3, "factory"))).AsTask().WaitAsync(PastClientTimeouts);

        Assert.Equal(new Frozen(2, "factory"), loaded);
        Assert.Equal(new Frozen(1, "cached while up"), cached);
    }

    [Fact]
    public async Task WithTheL2KilledSetDoesNotThrowAndTheValueIsServedLocally()
    {
        await using var server = await ThrowawayRedisAsync();
        await using var redis = server.Connect();
        var cache = NewInstance(redis);
        await Bounded(cache.SetAsync(Key() + ":warm", new Frozen(1, "connection in use")));

        server.Kill();
        await cache.SetAsync(Key(), new Frozen(2, "set while down")).AsTask().WaitAsync(PastClientTimeouts);
        var read = await cache.GetOrCreateAsync(Key(), _ => ValueTask.FromResult(new Frozen(3, "factory"))).AsTask().WaitAsync(PastClientTimeouts);

        Assert.Equal(new Frozen(2, "set while down"), read);
    }

    [Fact]
    public async Task WithTheL2HungGetOrCreateStillReturnsTheFactoryValue()
    {
        await using var server = await ThrowawayRedisAsync();
        await using var redis = server.Connect();
        var cache = NewInstance(redis);
        await Bounded(cache.SetAsync(Key() + ":warm", new Frozen(1, "connection in use")));

        server.Pause();
        try
        {
            var loaded = await cache.GetOrCreateAsync(Key(), _ => ValueTask.FromResult(new Frozen(2, "factory"))).AsTask().WaitAsync(PastClientTimeouts);

            Assert.Equal(new Frozen(2, "factory"), loaded);
        }
        finally
        {
            server.Resume();
        }
    }

    [Fact]
    public async Task WithTheL2DownFromTheStartGetOrCreateStillReturnsTheFactoryValue()
    {
        await using var server = await ThrowawayRedisAsync();
        await using var redis = server.Connect();
        server.Kill();
        var cache = NewInstance(redis);
        var factory = new CountingFactory<Frozen>(n => new Frozen(n, "factory"));

        var loaded = await cache.GetOrCreateAsync(Key(), factory.CreateAsync).AsTask().WaitAsync(PastClientTimeouts);

        Assert.Equal(new Frozen(1, "factory"), loaded);
    }
}
