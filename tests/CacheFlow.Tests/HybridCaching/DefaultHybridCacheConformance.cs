using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace CacheFlow.Tests.HybridCaching;

/// <summary>
/// The control: Microsoft's DefaultHybridCache (<c>AddHybridCache()</c>) over Microsoft's Redis
/// <c>IDistributedCache</c> (<c>AddStackExchangeRedisCache</c>), registered as its documentation shows.
/// It is known to write a stale value back after a removal (the docs call the race rare) and to leave other
/// instances' L1 untouched by a write or a removal (the docs say so), so the two guarantee tests run as controls here.
/// </summary>
public abstract class DefaultHybridCacheConformance(IRedisBackend backend) : HybridCacheConformance(backend)
{
    protected override bool KeepsNoStaleSet => false;

    protected override bool InvalidatesOtherInstancesL1 => false;

    // Seen with Microsoft.Extensions.Caching.Hybrid 10.0.0 on Garnet and on Redis; see HybridCacheDeviations for what
    // the documentation promises instead.
    protected override HybridCacheDeviations KnownDeviations =>
        HybridCacheDeviations.ServesTagInvalidatedEntriesFromL2 | HybridCacheDeviations.KeepsOversizedPayloadsInL1;

    protected override void AddHybridCache(IServiceCollection services, IConnectionMultiplexer redis, string keyPrefix)
    {
        // A connection of its own from the same configuration: RedisCache closes its connection when disposed, and the
        // shared one must outlive this instance.
        services.AddStackExchangeRedisCache(o => { o.Configuration = redis.Configuration; o.InstanceName = keyPrefix; });
        services.AddHybridCache();
    }
}

public sealed class DefaultHybridCacheOnGarnet(GarnetBackend backend) : DefaultHybridCacheConformance(backend), IClassFixture<GarnetBackend>;

public sealed class DefaultHybridCacheOnRedis(RealRedisBackend backend) : DefaultHybridCacheConformance(backend), IClassFixture<RealRedisBackend>;
