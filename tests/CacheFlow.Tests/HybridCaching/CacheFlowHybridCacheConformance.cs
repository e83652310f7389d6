using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace CacheFlow.Tests.HybridCaching;

/// <summary>
/// CacheFlow behind the HybridCache API (<c>AddCacheFlow(...).AsHybridCache()</c>), the L1 on as HybridCache users
/// expect: the same contract tests as Microsoft's implementation, and the two guarantees it lacks (no stale set after a
/// removal, other instances' L1 invalidated) asserted as kept.
/// </summary>
public abstract class CacheFlowHybridCacheConformance(IRedisBackend backend) : HybridCacheConformance(backend)
{
    protected override void AddHybridCache(IServiceCollection services, IConnectionMultiplexer redis, string keyPrefix)
    {
        services.AddSingleton(redis);
        services.AddLogging();
        // A generous Redis timeout: test assemblies and servers share two cores (the L2 fault tests hang or kill theirs).
        services.AddCacheFlow(o =>
        {
            o.KeyPrefix = keyPrefix;
            o.LocalCacheEnabled = true;
            o.RedisTimeout = TimeSpan.FromSeconds(5);
            if (_unprotected)
                o.Protections = CacheProtections.All & ~(CacheProtections.Leases | CacheProtections.LocalStamps | CacheProtections.TagVersions);
        }).AsHybridCache();
    }

    private bool _unprotected;

    [Fact]
    public async Task ControlWithoutLeasesStampsOrTagVersionsTheHistoryHasStaleReads()
    {
        _unprotected = true;

        var history = await RunHistoryAsync(TimeSpan.FromSeconds(10), untilStale: true);

        Assert.True(history.Stale > 0, $"the control found no stale read in {history.Reads} reads");
    }
}

public sealed class CacheFlowHybridCacheOnGarnet(GarnetBackend backend) : CacheFlowHybridCacheConformance(backend), IClassFixture<GarnetBackend>;

public sealed class CacheFlowHybridCacheOnRedis(RealRedisBackend backend) : CacheFlowHybridCacheConformance(backend), IClassFixture<RealRedisBackend>;

public sealed class CacheFlowHybridCacheOnCluster(ClusterBackend backend) : CacheFlowHybridCacheConformance(backend), IClassFixture<ClusterBackend>;
