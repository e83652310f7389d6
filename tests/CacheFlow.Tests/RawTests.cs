using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace CacheFlow.Tests;

/// <summary><see cref="ICacheFlow.GetRawAsync"/> and <see cref="ICacheFlow.SetRawAsync"/>: bytes as stored, no factory, no lease.</summary>
public abstract class RawTests(IRedisBackend backend)
{
    private static readonly byte[] Bytes = [0xFF, 0x00, 0x7B, 0x01];

    private IConnectionMultiplexer Redis => backend.Redis;

    [Fact]
    public async Task SetRawStoresTheBytesAsGivenAndGetRawReturnsThemOrNullOnAMiss()
    {
        using var cache = TestCaches.Create(Redis);

        var miss = await cache.GetRawAsync("raw:1");
        Assert.True(await cache.SetRawAsync("raw:1", Bytes));
        var hit = await cache.GetRawAsync("raw:1");

        Assert.Null(miss);
        Assert.Equal((CacheOutcome.Hit, false, false), (hit!.Value.Outcome, hit.Value.IsNull, hit.Value.FromLocal));
        Assert.Equal(Bytes, hit.Value.Json.ToArray());
        var stats = cache.GetStatistics().Families["raw"];
        Assert.Equal((1, 1, 0), (stats.Hits, stats.Misses, stats.Loads));
    }

    [Fact]
    public async Task GetRawReturnsNullForAStaleEntryThatAReadWithAFactoryWouldServe()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var cache = TestCaches.Create(Redis, time);
        await cache.SetRawAsync("raw:1", "\"v1\""u8.ToArray(), new CacheEntryOptions { Duration = TimeSpan.FromSeconds(10), StaleDuration = TimeSpan.FromMinutes(5) });

        time.Advance(TimeSpan.FromSeconds(10));
        var raw = await cache.GetRawAsync("raw:1");
        var withFactory = await cache.GetOrCreateJsonAsync("raw:1", _ => ValueTask.FromResult("v2"));

        Assert.Null(raw);
        Assert.Equal(CacheOutcome.Stale, withFactory.Outcome);
    }

    [Fact]
    public async Task AnEntryWithoutJitterExpiresExactlyWhateverTheCacheJitter()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var cache = TestCaches.Create(Redis, time, o => o.JitterPercent = 50);
        var exact = new CacheEntryOptions { Duration = TimeSpan.FromSeconds(10), StaleDuration = TimeSpan.Zero, JitterPercent = 0 };
        var jittered = new CacheEntryOptions { Duration = TimeSpan.FromSeconds(10), StaleDuration = TimeSpan.Zero };
        for (var i = 0; i < 20; i++)
        {
            await cache.SetRawAsync($"exact:{i}", Bytes, exact);
            await cache.SetRawAsync($"jittered:{i}", Bytes, jittered);
        }

        time.Advance(TimeSpan.FromSeconds(10) - TimeSpan.FromMilliseconds(1));
        var exactBefore = await CountAsync(cache, "exact");
        time.Advance(TimeSpan.FromMilliseconds(1));
        var exactAfter = await CountAsync(cache, "exact");
        var jitteredAfter = await CountAsync(cache, "jittered");

        Assert.Equal((20, 0), (exactBefore, exactAfter));
        // Control: with the cache's ±50 %, each of these outlives its duration with probability one half.
        Assert.InRange(jitteredAfter, 1, 19);
    }

    [Fact]
    public async Task WithTheL1OnAWrittenEntryIsServedFromIt()
    {
        using var cache = TestCaches.Create(Redis, configure: o => o.LocalCacheEnabled = true);
        await cache.SetRawAsync("raw:1", Bytes);

        var hit = await cache.GetRawAsync("raw:1");

        Assert.True(hit!.Value.FromLocal);
        Assert.Equal(Bytes, hit.Value.Json.ToArray());
    }

    private static async Task<int> CountAsync(CacheFlowCache cache, string family)
    {
        var found = 0;
        for (var i = 0; i < 20; i++)
            found += await cache.GetRawAsync($"{family}:{i}") is null ? 0 : 1;
        return found;
    }
}

public sealed class GarnetRawTests(GarnetBackend backend) : RawTests(backend), IClassFixture<GarnetBackend>;

public sealed class RedisRawTests(RealRedisBackend backend) : RawTests(backend), IClassFixture<RealRedisBackend>;
