using CacheFlow.Testing;
using StackExchange.Redis;

namespace CacheFlow.Tests;

/// <summary>
/// An invalidation made while Redis is down is kept and applied once it answers, and this instance serves nothing
/// older meanwhile, even when Redis comes back from its append-only file holding the old value. A throwaway
/// redis-server of its own, killed and restarted.
/// </summary>
public sealed class PendingInvalidationTests : IAsyncLifetime
{
    private readonly DirectoryInfo _aof = Directory.CreateTempSubdirectory("cacheflow-aof-");
    private RedisServer? _server;
    private ConnectionMultiplexer? _redis;

    public async ValueTask InitializeAsync()
    {
        if (RedisServer.Binary is null)
            return;
        _server = await RedisServer.StartAsync(_aof.FullName);
        _redis = _server.Connect();
    }

    public async ValueTask DisposeAsync()
    {
        if (_redis is not null)
            await _redis.DisposeAsync();
        if (_server is not null)
            await _server.DisposeAsync();
        _aof.Delete(recursive: true);
    }

    /// <summary>
    /// Caches v1, kills Redis, changes the source to v2 and invalidates (Redis is down), restarts Redis from its AOF
    /// (v1 is back in it), and reads until the connection is back. Returns every value read after the invalidation.
    /// </summary>
    private async Task<List<(CacheOutcome Outcome, string Name)>> ReadsAfterAnInvalidationDuringAnOutageAsync(CacheFlowCache cache)
    {
        var source = "v1";
        ValueTask<Item> Load(CancellationToken _) => ValueTask.FromResult(new Item(1, source));
        await cache.GetOrCreateAsync("item:1", Load);
        Assert.Equal(CacheOutcome.Hit, (await cache.GetOrCreateAsync("item:1", Load)).Outcome);

        _server!.Kill();
        source = "v2";
        Assert.False(await cache.RemoveAsync("item:1"));

        var reads = new List<(CacheOutcome, string)>();
        async Task ReadAsync()
        {
            var read = await cache.GetOrCreateAsync("item:1", Load);
            reads.Add((read.Outcome, read.Value!.Name));
        }

        await ReadAsync();
        await _server.RestartAsync();
        await Eventually.TrueAsync(() => _redis!.IsConnected, "the connection is back");
        for (var i = 0; i < 5; i++)
            await ReadAsync();
        return reads;
    }

    [Fact]
    public async Task AnInvalidationRedisCouldNotTakeIsAppliedWhenItIsBackAndNoOlderValueIsServedMeanwhile()
    {
        if (_server is null)
            ServerRequirement.Unavailable("redis-server is not installed (apt-get install redis-server)");
        // The retry loop runs only when the test says (a clock that does not move): the reads before it must bypass.
        using var cache = TestCaches.Create(_redis!, new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow),
            o => o.CircuitBreakDuration = TimeSpan.Zero);

        var reads = await ReadsAfterAnInvalidationDuringAnOutageAsync(cache);

        Assert.All(reads, r => Assert.Equal((CacheOutcome.Bypass, "v2"), r));
        Assert.Equal(1, cache.GetStatistics().PendingInvalidations);
        Assert.Equal(0, await cache.ApplyPendingAsync());
        Assert.Equal((CacheOutcome.Miss, "v2"), Read(await cache.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "v2")))));
        Assert.Equal(CacheOutcome.Hit, (await cache.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "v3")))).Outcome);
    }

    [Fact]
    public async Task TheRetryLoopAppliesAPendingInvalidationByItself()
    {
        if (_server is null)
            ServerRequirement.Unavailable("redis-server is not installed (apt-get install redis-server)");
        using var cache = TestCaches.Create(_redis!, configure: o => { o.CircuitBreakDuration = TimeSpan.Zero; o.InvalidationRetryInterval = TimeSpan.FromMilliseconds(50); });

        var reads = await ReadsAfterAnInvalidationDuringAnOutageAsync(cache);

        await Eventually.TrueAsync(() => cache.GetStatistics().PendingInvalidations == 0, "the retry loop applied the invalidation");
        Assert.All(reads, r => Assert.Equal("v2", r.Name));
        Assert.Equal("v2", (await cache.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "v2")))).Value!.Name);
    }

    [Fact]
    public async Task ControlWithoutKeepingTheInvalidationTheOldValueComesBackFromTheAppendOnlyFile()
    {
        if (_server is null)
            ServerRequirement.Unavailable("redis-server is not installed (apt-get install redis-server)");
        using var cache = TestCaches.Create(_redis!, configure: o => { o.CircuitBreakDuration = TimeSpan.Zero; o.Protections &= ~CacheProtections.KeepInvalidations; });

        var reads = await ReadsAfterAnInvalidationDuringAnOutageAsync(cache);

        Assert.Contains((CacheOutcome.Hit, "v1"), reads);
    }

    private static (CacheOutcome, string) Read(CacheResult<Item?> result) => (result.Outcome, result.Value!.Name);
}
