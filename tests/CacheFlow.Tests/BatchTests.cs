using StackExchange.Redis;

namespace CacheFlow.Tests;

/// <summary>
/// <see cref="ICacheFlow.GetOrCreateManyAsync{T}"/>: one factory call for a batch's misses, and each key's guarantees
/// (lease-checked write-back, waiting for another caller's load) as a single read has them. Interleavings by gates.
/// </summary>
public abstract class BatchTests(IRedisBackend backend)
{
    private IConnectionMultiplexer Redis => backend.Redis;

    [Fact]
    public async Task AColdBatchCallsTheFactoryOnceWithEveryKeyAndTheNextBatchIsAllHits()
    {
        using var cache = TestCaches.Create(Redis);
        var loader = new BatchLoader();
        string[] keys = ["item:1", "item:2", "item:3", "item:2"];

        var first = await cache.GetOrCreateManyAsync(keys, loader.LoadAsync).Within();
        var second = await cache.GetOrCreateManyAsync(keys, loader.LoadAsync).Within();

        Assert.Equal([["item:1", "item:2", "item:3"]], loader.Calls);
        Assert.All(first.Values, r => Assert.Equal(CacheOutcome.Miss, r.Outcome));
        Assert.All(second.Values, r => Assert.Equal(CacheOutcome.Hit, r.Outcome));
        Assert.Equal(["v1:item:1", "v1:item:2", "v1:item:3"], second.OrderBy(p => p.Key).Select(p => p.Value.Value!.Name));
    }

    [Fact]
    public async Task OnlyTheMissingKeysReachTheFactoryAndAKeyItDoesNotReturnIsANull()
    {
        using var cache = TestCaches.Create(Redis);
        var loader = new BatchLoader(missing: "item:9");
        await cache.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "cached")));

        var read = await cache.GetOrCreateManyAsync(["item:1", "item:2", "item:9"], loader.LoadAsync).Within();

        Assert.Equal([["item:2", "item:9"]], loader.Calls);
        Assert.Equal(("cached", CacheOutcome.Hit), (read["item:1"].Value!.Name, read["item:1"].Outcome));
        Assert.Equal(CacheOutcome.Miss, read["item:2"].Outcome);
        Assert.Null(read["item:9"].Value);
    }

    [Fact]
    public async Task ABatchLoadRacingAnInvalidationCannotWriteTheOldValueBack()
    {
        var (returned, cached) = await StaleSetRaceAsync(CacheProtections.All);

        Assert.Equal("v1:item:1", returned);
        Assert.Equal("v2:item:1", cached);
    }

    [Fact]
    public async Task ControlWithoutLeasesTheRacingBatchLeavesTheOldValueInTheCache()
    {
        var (_, cached) = await StaleSetRaceAsync(CacheProtections.SingleFlight);

        Assert.Equal("v1:item:1", cached);
    }

    [Fact]
    public async Task AKeyWhoseLeaseAnotherCallerHoldsIsWaitedForNotLoadedAgain()
    {
        var prefix = $"b{Guid.NewGuid():N}:";
        using var holder = TestCaches.Create(Redis, configure: o => o.KeyPrefix = prefix);
        using var batcher = TestCaches.Create(Redis, configure: o => o.KeyPrefix = prefix);
        var holding = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var single = holder.GetOrCreateAsync("item:1", async _ =>
        {
            holding.SetResult();
            await release.Task;
            return new Item(1, "from the lease holder");
        }).AsTask();
        await holding.Task.WaitAsync(TimeSpan.FromSeconds(20));
        var loader = new BatchLoader();

        var batch = batcher.GetOrCreateManyAsync(["item:1", "item:2"], loader.LoadAsync).AsTask();
        await Eventually.TrueAsync(() => loader.Calls.Count == 1, "the batch loaded what it could");
        release.SetResult();
        var read = await batch.WaitAsync(TimeSpan.FromSeconds(20));
        await single.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal([["item:2"]], loader.Calls);
        Assert.Equal("from the lease holder", read["item:1"].Value!.Name);
    }

    [Fact]
    public async Task WithRedisFailingABatchReturnsTheFactorysValuesAndThrowsNothing()
    {
        var chaos = ChaosRedis.Over(Redis);
        using var cache = TestCaches.Create(chaos.Connection);
        chaos.Fault = RedisFault.Throw;
        var loader = new BatchLoader();

        var read = await cache.GetOrCreateManyAsync(["item:1", "item:2"], loader.LoadAsync).Within();

        Assert.All(read.Values, r => Assert.Equal(CacheOutcome.Bypass, r.Outcome));
        Assert.Equal(("v1:item:1", "v1:item:2"), (read["item:1"].Value!.Name, read["item:2"].Value!.Name));
        Assert.True(chaos.FaultedCalls > 0);
    }

    [Fact]
    public async Task ATaggedBatchIsWrittenWithItsTagsAndRemovedByThem()
    {
        using var cache = TestCaches.Create(Redis);
        var loader = new BatchLoader();
        var options = new CacheEntryOptions { Tags = ["items"] };

        await cache.GetOrCreateManyAsync(["item:1", "item:2"], loader.LoadAsync, options).Within();
        Assert.Equal(2, await cache.RemoveByTagAsync("items"));
        await cache.GetOrCreateManyAsync(["item:1", "item:2"], loader.LoadAsync, options).Within();

        Assert.Equal(2, loader.Calls.Count);
    }

    /// <summary>
    /// A batch loads item:1 (v1) and is held in its factory; the source changes to v2 and the key is removed; then the
    /// batch finishes. Returns what the batch returned and what the cache holds after.
    /// </summary>
    private async Task<(string Returned, string Cached)> StaleSetRaceAsync(CacheProtections protections)
    {
        using var cache = TestCaches.Create(Redis, configure: o => o.Protections = protections);
        var version = "v1";
        var loading = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var batch = cache.GetOrCreateManyAsync(["item:1"], async (keys, _) =>
        {
            var read = version;
            loading.SetResult();
            await release.Task;
            return (IReadOnlyDictionary<string, Item>)keys.ToDictionary(k => k, k => new Item(1, $"{read}:{k}"));
        }).AsTask();
        await loading.Task.WaitAsync(TimeSpan.FromSeconds(20));

        version = "v2";
        await cache.RemoveAsync("item:1");
        release.SetResult();
        var returned = await batch.WaitAsync(TimeSpan.FromSeconds(20));
        var after = await cache.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, $"{version}:item:1"))).Within();
        return (returned["item:1"].Value!.Name, after.Value!.Name);
    }

    /// <summary>A batch factory that records the keys of each call and returns <c>v{call}:{key}</c>, leaving out one key.</summary>
    private sealed class BatchLoader(string? missing = null)
    {
        public List<string[]> Calls { get; } = [];

        public ValueTask<IReadOnlyDictionary<string, Item>> LoadAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
        {
            lock (Calls)
                Calls.Add([.. keys.Order(StringComparer.Ordinal)]);
            return ValueTask.FromResult<IReadOnlyDictionary<string, Item>>(
                keys.Where(k => k != missing).ToDictionary(k => k, k => new Item(int.Parse(k[5..], System.Globalization.CultureInfo.InvariantCulture), $"v1:{k}")));
        }
    }
}

public sealed class GarnetBatchTests(GarnetBackend backend) : BatchTests(backend), IClassFixture<GarnetBackend>;

public sealed class RedisBatchTests(RealRedisBackend backend) : BatchTests(backend), IClassFixture<RealRedisBackend>;

public sealed class ClusterBatchTests(ClusterBackend backend) : BatchTests(backend), IClassFixture<ClusterBackend>;
