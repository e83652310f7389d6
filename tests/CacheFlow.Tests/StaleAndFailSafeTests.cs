using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace CacheFlow.Tests;

/// <summary>Soft and hard expiry on a fake clock: stale-while-revalidate, fail-safe, early refresh, jitter.</summary>
public abstract class StaleAndFailSafeTests(IRedisBackend backend)
{
    private static readonly CacheEntryOptions Swr = new() { Duration = TimeSpan.FromMinutes(1), StaleDuration = TimeSpan.FromMinutes(10) };

    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);

    private IConnectionMultiplexer Redis => backend.Redis;

    [Fact]
    public async Task PastSoftExpiryTheFirstCallerGetsTheStaleValueAtOnceAndOneRefreshRunsInTheBackground()
    {
        using var cache = TestCaches.Create(Redis, _clock, o => o.EarlyRefreshBeta = 0);
        await WriteThenGoStaleAsync(cache, Swr);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var refreshes = 0;
        Func<CancellationToken, ValueTask<Item>> refresh = async _ =>
        {
            Interlocked.Increment(ref refreshes);
            entered.TrySetResult();
            await release.Task;
            return new Item(1, "v2");
        };

        var first = await cache.GetOrCreateAsync("item:1", refresh, Swr).Within();
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(20));
        var second = await cache.GetOrCreateAsync("item:1", refresh, Swr).Within();

        Assert.Equal((CacheOutcome.Stale, "v1"), (first.Outcome, first.Value!.Name));
        Assert.Equal((CacheOutcome.Stale, "v1"), (second.Outcome, second.Value!.Name));
        release.SetResult();
        var after = await ReadUntilAsync(cache, refresh, CacheOutcome.Hit);
        Assert.Equal("v2", after.Value!.Name);
        Assert.Equal(1, refreshes);
        Assert.True(cache.GetStatistics().Total.Stale >= 2);
    }

    [Fact]
    public async Task WhenTheRefreshFailsTheStaleValueIsServedAndTheSourceIsLeftAloneForTheThrottle()
    {
        using var cache = TestCaches.Create(Redis, _clock, o => o.EarlyRefreshBeta = 0);
        await WriteThenGoStaleAsync(cache, Swr);
        var loads = new CountingLoader<Item>(_ => throw new InvalidOperationException("the database is down"));

        var stale = await cache.GetOrCreateAsync("item:1", loads.LoadAsync, Swr).Within();
        await Eventually.TrueAsync(() => cache.GetStatistics().Total.LoadFailures == 1, "the refresh failed");
        var throttled = await ReadUntilAsync(cache, loads.LoadAsync, CacheOutcome.Stale, untilThrottled: true);

        Assert.Equal((CacheOutcome.Stale, "v1"), (stale.Outcome, stale.Value!.Name));
        Assert.Equal((CacheOutcome.Stale, "v1"), (throttled.Outcome, throttled.Value!.Name));
        Assert.Equal(1, loads.Calls);
    }

    [Fact]
    public async Task AfterAnInvalidationAFailingSourceYieldsTheErrorNotTheDeletedValue()
    {
        using var cache = TestCaches.Create(Redis, _clock, o => o.EarlyRefreshBeta = 0);
        await cache.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "deleted by a writer")), Swr);
        _clock.Advance(TimeSpan.FromMinutes(2));
        var failing = new CountingLoader<Item>(_ => throw new InvalidOperationException("the database is down"));
        Assert.Equal(CacheOutcome.Stale, (await cache.GetOrCreateAsync("item:1", failing.LoadAsync, Swr).Within()).Outcome);
        await Eventually.TrueAsync(() => cache.GetStatistics().Total.LoadFailures == 1, "the refresh failed");

        await cache.RemoveAsync("item:1");

        await Assert.ThrowsAsync<InvalidOperationException>(() => cache.GetOrCreateAsync("item:1", failing.LoadAsync, Swr).Within());
    }

    [Fact]
    public async Task WithASoftTimeoutTheCallerGetsTheRefreshedValueWhenTheSourceAnswersInTime()
    {
        using var cache = TestCaches.Create(Redis, _clock, o => o.EarlyRefreshBeta = 0);
        var waiting = new CacheEntryOptions { Duration = Swr.Duration, StaleDuration = Swr.StaleDuration, FactorySoftTimeout = TimeSpan.FromSeconds(5) };
        await WriteThenGoStaleAsync(cache, waiting);

        var refreshed = await cache.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "v2")), waiting).Within();

        Assert.Equal((CacheOutcome.Miss, "v2"), (refreshed.Outcome, refreshed.Value!.Name));
    }

    [Fact]
    public async Task WithASoftTimeoutAFailingSourceStillYieldsTheStaleValue()
    {
        using var cache = TestCaches.Create(Redis, _clock, o => o.EarlyRefreshBeta = 0);
        var waiting = new CacheEntryOptions { Duration = Swr.Duration, StaleDuration = Swr.StaleDuration, FactorySoftTimeout = TimeSpan.FromSeconds(5) };
        await WriteThenGoStaleAsync(cache, waiting);

        var stale = await cache.GetOrCreateAsync<Item>("item:1", _ => throw new InvalidOperationException("down"), waiting).Within();

        Assert.Equal((CacheOutcome.Stale, "v1"), (stale.Outcome, stale.Value!.Name));
        Assert.Equal(1, cache.GetStatistics().Total.LoadFailures);
    }

    [Fact]
    public async Task PastHardExpiryNothingStaleIsServed()
    {
        using var cache = TestCaches.Create(Redis, _clock, o => o.EarlyRefreshBeta = 0);
        await cache.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "v1")), Swr);
        _clock.Advance(TimeSpan.FromMinutes(12));

        var read = await cache.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "v2")), Swr).Within();

        Assert.Equal((CacheOutcome.Miss, "v2"), (read.Outcome, read.Value!.Name));
    }

    [Fact]
    public async Task NearExpiryAHitRefreshesEarlyInProportionToTheLoadTime() =>
        Assert.Equal((1, "v2"), await ReadNearExpiryAsync(beta: 1));

    [Fact]
    public async Task ControlWithoutEarlyRefreshNearExpiryHitsDoNotRefresh() =>
        Assert.Equal((0, "v1"), await ReadNearExpiryAsync(beta: 0));

    /// <summary>
    /// Loads an entry that took 10 s (Δ) on the cache's clock, moves to 0.1 s before its expiry and reads it 50 times
    /// (with β = 1 a hit refreshes unless rand &gt; e^-0.01). Returns the refreshes and the value the last read saw.
    /// </summary>
    private async Task<(int Refreshes, string Value)> ReadNearExpiryAsync(double beta)
    {
        using var cache = TestCaches.Create(Redis, _clock, o => o.EarlyRefreshBeta = beta);
        var options = new CacheEntryOptions { Duration = TimeSpan.FromMinutes(1) };
        await cache.GetOrCreateAsync("item:1", _ =>
        {
            _clock.Advance(TimeSpan.FromSeconds(10));
            return ValueTask.FromResult(new Item(1, "v1"));
        }, options);
        _clock.Advance(TimeSpan.FromSeconds(59.9));
        var refreshes = new CountingLoader<Item>(n => new Item(1, $"v{n + 1}"));

        CacheResult<Item?> last = default;
        for (var i = 0; i < 50 && last.Value?.Name != "v2"; i++)
        {
            last = await cache.GetOrCreateAsync("item:1", refreshes.LoadAsync, options).Within();
            Assert.Equal(CacheOutcome.Hit, last.Outcome);
            if (refreshes.Calls > 0)
                await Eventually.TrueAsync(() => cache.GetStatistics().Total.Loads == 2, "the refresh loaded");
        }

        return (refreshes.Calls, last.Value!.Name);
    }

    [Fact]
    public async Task AnInlineFactoryRefreshesAStaleEntryOnTheCallerThatFindsItNeverAfterItReturns()
    {
        using var cache = TestCaches.Create(Redis, _clock);
        await cache.GetOrCreateRawAsync("item:1", _ => ValueTask.FromResult<ReadOnlyMemory<byte>?>("\"v1\""u8.ToArray()), Swr);
        _clock.Advance(TimeSpan.FromMinutes(2));
        var finished = false;

        var refreshed = await cache.GetOrCreateRawAsync("item:1", async _ =>
        {
            await Task.Yield();
            finished = true;
            return "\"v2\""u8.ToArray();
        }, Swr).Within();

        Assert.True(finished, "the factory finished before the caller got its answer");
        Assert.Equal((CacheOutcome.Miss, "\"v2\""), (refreshed.Outcome, System.Text.Encoding.UTF8.GetString(refreshed.Json.Span)));
    }

    [Fact]
    public async Task JitterSpreadsTimeToLiveWithinThePercentage()
    {
        var prefix = $"jitter{Guid.NewGuid():N}:";
        using var cache = TestCaches.Create(Redis, configure: o => { o.KeyPrefix = prefix; o.JitterPercent = 20; });
        var options = new CacheEntryOptions { Duration = TimeSpan.FromSeconds(100) };
        for (var i = 0; i < 40; i++)
            await cache.SetAsync($"item:{i}", new Item(i, "x"), options);

        var ttls = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Redis.GetDatabase().KeyTimeToLiveAsync($"{prefix}{{item:{i}}}")));

        Assert.All(ttls, ttl => Assert.InRange(ttl!.Value.TotalSeconds, 79, 120));
        Assert.True(ttls.Select(t => (int)t!.Value.TotalSeconds).Distinct().Count() > 10, "the TTLs are spread");
    }

    /// <summary>Caches "v1" for <c>item:1</c>, then moves the clock past its soft expiry (but not its hard one).</summary>
    private async Task WriteThenGoStaleAsync(CacheFlowCache cache, CacheEntryOptions options)
    {
        await cache.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "v1")), options);
        _clock.Advance(TimeSpan.FromMinutes(2));
    }

    private static async Task<CacheResult<Item?>> ReadUntilAsync(
        CacheFlowCache cache, Func<CancellationToken, ValueTask<Item>> factory, CacheOutcome outcome, string? value = null, bool untilThrottled = false)
    {
        for (var attempt = 0; attempt < 2000; attempt++)
        {
            var read = await cache.GetOrCreateAsync("item:1", factory, Swr).Within();
            if (read.Outcome == outcome && (value is null || read.Value?.Name == value) && (!untilThrottled || attempt > 0))
                return read;
            await Task.Delay(5, TestContext.Current.CancellationToken);
        }

        throw new Xunit.Sdk.XunitException($"never read {outcome} {value}");
    }
}

public sealed class GarnetStaleAndFailSafeTests(GarnetBackend backend) : StaleAndFailSafeTests(backend), IClassFixture<GarnetBackend>;

public sealed class RedisStaleAndFailSafeTests(RealRedisBackend backend) : StaleAndFailSafeTests(backend), IClassFixture<RealRedisBackend>;

public sealed class ClusterStaleAndFailSafeTests(ClusterBackend backend) : StaleAndFailSafeTests(backend), IClassFixture<ClusterBackend>;
