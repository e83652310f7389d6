using CacheFlow.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace CacheFlow.Tests;

/// <summary>
/// <c>AddHealthChecks().AddCacheFlow()</c> on a throwaway redis-server of its own, hung with <c>kill -STOP</c> and let
/// go with <c>-CONT</c>: healthy while Redis answers; unhealthy while it is hung; degraded once it answers again while
/// the circuit is still open, or while an invalidation made during an outage still waits (reads bypass the cache
/// meanwhile), healthy once it is applied. The controls show each degraded report comes from its mechanism.
/// </summary>
public sealed class HealthCheckTests(RealRedisBackend backend) : IClassFixture<RealRedisBackend>
{
    [Fact]
    public async Task AnAnsweringRedisIsHealthyAndAHungOneUnhealthy()
    {
        await using var provider = Provider(CacheProtections.All, TimeSpan.Zero);

        var healthy = await CheckAsync(provider);
        Server.Pause();
        HealthReportEntry hung;
        try
        {
            hung = await CheckAsync(provider);
        }
        finally
        {
            Server.Resume();
        }

        Assert.Equal(HealthStatus.Healthy, healthy.Status);
        Assert.Equal(("closed", 0), (healthy.Data["circuit"], healthy.Data["pending_invalidations"]));
        Assert.True(healthy.Data.ContainsKey("ping_ms"));
        Assert.Equal((HealthStatus.Unhealthy, "Redis does not answer."), (hung.Status, hung.Description));
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(provider)).Status);
    }

    [Fact]
    public async Task AnInvalidationThatWaitsForRedisIsDegradedUntilItIsApplied()
    {
        var (pending, applied) = await AfterARemovalDuringAnOutageAsync(CacheProtections.All);

        Assert.Equal(HealthStatus.Degraded, pending.Status);
        Assert.Equal(1, pending.Data["pending_invalidations"]);
        Assert.Contains("invalidation(s) wait for Redis", pending.Description, StringComparison.Ordinal);
        Assert.Equal(HealthStatus.Healthy, applied.Status);
    }

    [Fact]
    public async Task ControlWithoutKeptInvalidationsTheSameOutageLeavesItHealthy()
    {
        var (pending, _) = await AfterARemovalDuringAnOutageAsync(CacheProtections.All & ~CacheProtections.KeepInvalidations);

        Assert.Equal(HealthStatus.Healthy, pending.Status);
    }

    [Fact]
    public async Task AnOpenCircuitIsDegradedOnceRedisAnswersAgain()
    {
        await using var provider = Provider(CacheProtections.All, TimeSpan.FromMinutes(10));
        await ThreeReadsThatTimeOutAsync(provider.GetRequiredService<ICacheFlow>());

        var report = await CheckAsync(provider);
        Assert.Equal(HealthStatus.Degraded, report.Status);
        Assert.Equal("open", report.Data["circuit"]);
    }

    [Fact]
    public async Task ControlWithoutTheBreakerTheSameTimeoutsLeaveItHealthy()
    {
        await using var provider = Provider(CacheProtections.All, TimeSpan.FromMinutes(10), breaker: false);
        await ThreeReadsThatTimeOutAsync(provider.GetRequiredService<ICacheFlow>());

        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(provider)).Status);
    }

    private RedisServer Server => backend.Server;

    /// <summary>Three reads in a row while the server is hung: each times out (a breaker, if on, opens).</summary>
    private async Task ThreeReadsThatTimeOutAsync(ICacheFlow cache)
    {
        Server.Pause();
        try
        {
            for (var i = 0; i < 3; i++)
                await cache.GetOrCreateAsync($"item:{i}", _ => ValueTask.FromResult(new Item(i, "source")));
        }
        finally
        {
            Server.Resume();
        }
    }

    /// <summary>
    /// Removes a key while the connection fails every call (a chaos connection: a hung server would take the retry
    /// loop's own attempt late, and apply it, whenever it is let go), lets the calls through again, then checks;
    /// applies what is pending and checks again.
    /// </summary>
    private async Task<(HealthReportEntry Pending, HealthReportEntry Applied)> AfterARemovalDuringAnOutageAsync(CacheProtections protections)
    {
        var chaos = ChaosRedis.Over(backend.Redis);
        await using var provider = Provider(protections, TimeSpan.Zero, connection: chaos.Connection);
        var cache = (CacheFlowCache)provider.GetRequiredService<ICacheFlow>();
        chaos.Fault = RedisFault.Throw;
        Assert.False(await cache.RemoveAsync("item:1"));
        chaos.Fault = RedisFault.None;

        var pending = await CheckAsync(provider);
        Assert.Equal(0, await cache.ApplyPendingAsync());
        return (pending, await CheckAsync(provider));
    }

    /// <summary>A cache on the hung-able server, Redis calls bounded at 300 ms, the retry of invalidations left to the test.</summary>
    private ServiceProvider Provider(CacheProtections protections, TimeSpan breakDuration, bool breaker = true, IConnectionMultiplexer? connection = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton(connection ?? backend.Redis);
        services.AddCacheFlow(options =>
        {
            options.KeyPrefix = $"t{Guid.NewGuid():N}:";
            options.RedisTimeout = TimeSpan.FromMilliseconds(300);
            options.InvalidationRetryInterval = TimeSpan.FromMinutes(10);
            options.CircuitBreakDuration = breaker ? breakDuration : TimeSpan.Zero;
            options.Protections = protections;
        });
        services.AddLogging();
        services.AddHealthChecks().AddCacheFlow(timeout: TimeSpan.FromMilliseconds(500));
        return services.BuildServiceProvider();
    }

    private static async Task<HealthReportEntry> CheckAsync(IServiceProvider provider) =>
        (await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(TestContext.Current.CancellationToken)).Entries["cacheflow"];
}
