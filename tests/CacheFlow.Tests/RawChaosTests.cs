using StackExchange.Redis;

namespace CacheFlow.Tests;

/// <summary>Raw reads and writes over a failing Redis (a <see cref="ChaosRedis"/> over embedded Garnet).</summary>
public sealed class RawChaosTests(GarnetBackend backend) : IClassFixture<GarnetBackend>
{
    private static readonly byte[] Bytes = [1, 2, 3];

    private readonly ChaosRedis _chaos = ChaosRedis.Over(backend.Redis);

    // No background retry: the test applies what is pending when it chooses.
    private CacheFlowCache Create() => TestCaches.Create(_chaos.Connection, configure: o =>
    {
        o.CircuitBreakDuration = TimeSpan.Zero;
        o.InvalidationRetryInterval = TimeSpan.FromHours(1);
    });

    [Fact]
    public async Task AFailingRedisIsANullReadAndAFalseWriteNeverAnException()
    {
        using var cache = Create();
        Assert.True(await cache.SetRawAsync("raw:1", Bytes));
        _chaos.Fault = RedisFault.Throw;

        var read = await cache.GetRawAsync("raw:1");
        var written = await cache.SetRawAsync("raw:2", Bytes);
        _chaos.Fault = RedisFault.None;

        Assert.Null(read);
        Assert.False(written);
        var stats = cache.GetStatistics().Families["raw"];
        Assert.Equal((0, 1, 2), (stats.Hits, stats.Bypasses, stats.Errors));
    }

    [Fact]
    public async Task WhileATagRemovalIsPendingRawReadsMissEvenThoughRedisStillHoldsTheEntry()
    {
        using var cache = Create();
        await cache.SetRawAsync("raw:tagged", Bytes, new CacheEntryOptions { Tags = ["t"] });
        await cache.SetRawAsync("raw:other", Bytes);
        _chaos.Fault = RedisFault.Throw;
        Assert.Equal(-1, await cache.RemoveByTagAsync("t"));
        _chaos.Fault = RedisFault.None;

        // The read cannot know the entry's tags, so every pending tag may cover it.
        var tagged = await cache.GetRawAsync("raw:tagged");
        var other = await cache.GetRawAsync("raw:other");
        var stillInRedis = await backend.Redis.GetDatabase().KeyExistsAsync(cache.Keys.Entry("raw:tagged"));
        Assert.Equal(0, await cache.ApplyPendingAsync());

        Assert.Equal((false, false, true), (tagged.HasValue, other.HasValue, stillInRedis));
        Assert.Null(await cache.GetRawAsync("raw:tagged"));
        Assert.NotNull(await cache.GetRawAsync("raw:other"));
    }
}
