using CacheFlow.Testing;
using StackExchange.Redis;

namespace CacheFlow.Tests;

/// <summary>With Redis unreachable the cache serves from the factory and reports it; it never throws Redis errors at callers.</summary>
public sealed class RedisDownTests : IAsyncLifetime
{
    private ConnectionMultiplexer _redis = null!;

    public async ValueTask InitializeAsync()
    {
        // Nothing listens on a port just freed: the connection fails, and keeps trying in the background.
        var options = ConfigurationOptions.Parse($"127.0.0.1:{ServerProcess.FreeLoopbackPort()}");
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.ConnectTimeout = 200;
        _redis = await ConnectionMultiplexer.ConnectAsync(options);
    }

    public async ValueTask DisposeAsync() => await _redis.DisposeAsync();

    private async Task<CacheFamilyStatistics> ThirtyReadsAsync(TimeSpan breakDuration)
    {
        using var cache = TestCaches.Create(_redis, configure: o => { o.CircuitBreakDuration = breakDuration; o.CircuitBreakerMinimumThroughput = 4; });
        for (var i = 0; i < 30; i++)
            Assert.Equal(CacheOutcome.Bypass, (await cache.GetOrCreateAsync($"item:{i}", _ => ValueTask.FromResult(new Item(i, "db")))).Outcome);
        return cache.GetStatistics().Total;
    }

    [Fact]
    public async Task ReadsBypassTheCacheAndStillReturnTheValue()
    {
        using var cache = TestCaches.Create(_redis);
        var loader = new CountingLoader<Item>(n => new Item(n, "from db"));

        var first = await cache.GetOrCreateAsync("item:1", loader.LoadAsync, cancellationToken: CancellationToken.None);
        var second = await cache.GetOrCreateAsync("item:1", loader.LoadAsync, cancellationToken: CancellationToken.None);

        Assert.Equal((CacheOutcome.Bypass, "from db"), (first.Outcome, first.Value!.Name));
        Assert.Equal(CacheOutcome.Bypass, second.Outcome);
        var stats = cache.GetStatistics().Total;
        // Each read tries Redis once: after its GET failed, the load does not ask Redis again (a hung Redis would
        // cost a second timeout).
        Assert.Equal((2, 2, 0, 2), (stats.Bypasses, stats.Loads, stats.Misses, stats.Errors));
    }

    [Fact]
    public async Task AfterRepeatedFailuresTheCircuitOpensAndReadsStopTryingRedis()
    {
        var stats = await ThirtyReadsAsync(breakDuration: TimeSpan.FromMinutes(1));

        Assert.Equal(30, stats.Bypasses);
        Assert.True(stats.Errors < 10, $"only the calls before the circuit opened reached Redis: {stats.Errors}");
    }

    [Fact]
    public async Task ControlWithoutTheBreakerEveryReadTriesRedis()
    {
        var stats = await ThirtyReadsAsync(breakDuration: TimeSpan.Zero);

        Assert.Equal((30, 30), (stats.Bypasses, stats.Errors));
    }

    [Fact]
    public async Task AnL1StartedWhileRedisIsDownServesNothingItCouldNotKeepCoherent()
    {
        using var cache = TestCaches.Create(_redis, configure: o => o.LocalCacheEnabled = true);
        var loader = new CountingLoader<Item>(n => new Item(n, "from db"));

        await cache.GetOrCreateAsync("item:1", loader.LoadAsync);
        var second = await cache.GetOrCreateAsync("item:1", loader.LoadAsync);

        Assert.Equal((CacheOutcome.Bypass, 2, 0L), (second.Outcome, loader.Calls, cache.LocalEntries));
    }

    [Fact]
    public async Task WritesAndRemovalsReportFailureInsteadOfThrowing()
    {
        using var cache = TestCaches.Create(_redis, configure: o => o.CircuitBreakDuration = TimeSpan.Zero);

        Assert.False(await cache.SetAsync("item:1", new Item(1, "x"), cancellationToken: CancellationToken.None));
        Assert.False(await cache.RemoveAsync("item:1", CancellationToken.None));
        Assert.Equal(-1, await cache.RemoveByTagAsync("tag", CancellationToken.None));
        Assert.Equal(-1, await cache.RemoveByPrefixAsync("item:", CancellationToken.None));
        Assert.Equal(4, cache.GetStatistics().Total.Errors);
        // None is dropped: the failed write-through and the removal of its key are one pending removal, then the tag and the prefix.
        Assert.Equal(3, cache.GetStatistics().PendingInvalidations);
    }
}
