using StackExchange.Redis;

namespace CacheFlow.Tests;

/// <summary>
/// Tag invalidation fails closed. A Redis that evicts (<c>allkeys-lru</c>) may drop a tag's index while the entries it
/// listed stay; a removal by tag then finds nothing to delete. And a load that read the source before a removal by
/// tag is not in the index yet, so the removal cannot revoke its lease. Each tagged entry records the version its tags
/// had before its value was read; a removal gives the tag a new version; an entry whose versions are not all current,
/// or whose tag's version is gone, is a miss. Evictions are made by deleting the keys Redis would evict. Each test has
/// a control with the versions off that serves the removed value.
/// </summary>
public abstract class TagVersionTests(IRedisBackend backend)
{
    private static readonly CacheEntryOptions Lists = new() { Tags = ["lists"] };

    private IConnectionMultiplexer Redis => backend.Redis;

    private CacheFlowCache Create(bool versions = true) =>
        TestCaches.Create(Redis, configure: o => o.Protections = versions ? CacheProtections.All : CacheProtections.All & ~CacheProtections.TagVersions);

    private static ValueTask<Item> Source(string name) => ValueTask.FromResult(new Item(1, name));

    /// <summary>Caches two pages under the tag, evicts the tag's index, removes the tag; returns what the pages read then.</summary>
    private static async Task<string[]> ReadsAfterARemovalWhoseIndexWasEvictedAsync(CacheFlowCache cache, IDatabase db)
    {
        foreach (var page in new[] { "page:1", "page:2" })
            await cache.GetOrCreateAsync(page, _ => Source("old"), Lists);
        Assert.True(await db.KeyDeleteAsync(cache.Keys.Tag("lists")));

        Assert.Equal(0, await cache.RemoveByTagAsync("lists"));

        return [.. await Task.WhenAll(new[] { "page:1", "page:2" }.Select(async page => (await cache.GetOrCreateAsync(page, _ => Source("new"), Lists)).Value!.Name))];
    }

    [Fact]
    public async Task ARemovalByTagWhoseIndexWasEvictedStillMakesTheTaggedEntriesMisses()
    {
        using var cache = Create();

        Assert.Equal(["new", "new"], await ReadsAfterARemovalWhoseIndexWasEvictedAsync(cache, Redis.GetDatabase()));
    }

    [Fact]
    public async Task ControlWithoutVersionsARemovalByTagWhoseIndexWasEvictedLeavesTheEntriesServed()
    {
        using var cache = Create(versions: false);

        Assert.Equal(["old", "old"], await ReadsAfterARemovalWhoseIndexWasEvictedAsync(cache, Redis.GetDatabase()));
    }

    [Fact]
    public async Task AnEntryWhoseTagVersionWasEvictedIsAMissAndTheNextLoadIsServedAgain()
    {
        using var cache = Create();
        await cache.GetOrCreateAsync("page:1", _ => Source("old"), Lists);
        Assert.Equal(CacheOutcome.Hit, (await cache.GetOrCreateAsync("page:1", _ => Source("new"), Lists)).Outcome);

        Assert.True(await Redis.GetDatabase().KeyDeleteAsync(cache.Keys.Tag("lists") + ":version"));

        var missed = await cache.GetOrCreateAsync("page:1", _ => Source("new"), Lists);
        Assert.Equal((CacheOutcome.Miss, "new"), (missed.Outcome, missed.Value!.Name));
        Assert.Equal(CacheOutcome.Hit, (await cache.GetOrCreateAsync("page:1", _ => Source("newer"), Lists)).Outcome);
    }

    /// <summary>
    /// A load of a tagged key reads the source (v1) and is held before its write-back; the tag is removed (acknowledged);
    /// the load writes back. Returns what a read that starts after the removal sees.
    /// </summary>
    private static async Task<CacheResult<Item?>> ReadAfterALoadThatRacedARemovalByTagAsync(CacheFlowCache cache)
    {
        var loader = new HeldLoader<Item>(new Item(1, "v1"));
        var load = cache.GetOrCreateAsync("page:1", loader.LoadAsync, Lists);
        await loader.Reached;
        await cache.RemoveByTagAsync("lists");
        loader.Release();
        Assert.Equal("v1", (await load.Within()).Value!.Name);

        return await cache.GetOrCreateAsync("page:1", _ => Source("v2"), Lists);
    }

    [Fact]
    public async Task ALoadThatReadTheSourceBeforeARemovalByTagCannotWriteTheOldValueBack()
    {
        using var cache = Create();

        var next = await ReadAfterALoadThatRacedARemovalByTagAsync(cache);

        Assert.Equal((CacheOutcome.Miss, "v2"), (next.Outcome, next.Value!.Name));
    }

    [Fact]
    public async Task ControlWithoutVersionsTheLoadThatRacedTheRemovalByTagLeavesTheOldValueCached()
    {
        using var cache = Create(versions: false);

        var next = await ReadAfterALoadThatRacedARemovalByTagAsync(cache);

        Assert.Equal((CacheOutcome.Hit, "v1"), (next.Outcome, next.Value!.Name));
    }

    /// <summary>
    /// A load of a tagged key reads the source (v1) and is held; the tag is removed (acknowledged); then a read of the
    /// key starts, finds that load running here and joins it; the load ends. Returns what the joiner got. The load's
    /// write-back carries the versions from before the removal, a miss for readers of Redis: its value is no newer for
    /// a caller that joined after the removal.
    /// </summary>
    private static async Task<CacheResult<Item?>> JoinerOfALoadThatRacedARemovalByTagAsync(CacheFlowCache cache)
    {
        var loader = new HeldLoader<Item>(new Item(1, "v1"));
        var load = cache.GetOrCreateAsync("page:1", loader.LoadAsync, Lists);
        await loader.Reached;
        await cache.RemoveByTagAsync("lists");
        var joiner = cache.GetOrCreateAsync("page:1", _ => Source("v2"), Lists);
        await Eventually.TrueAsync(() => cache.GetStatistics().Total.Misses == 2, "the second read missed and joined the load");

        loader.Release();

        Assert.Equal("v1", (await load.Within()).Value!.Name);
        return await joiner.Within();
    }

    [Fact]
    public async Task AReadThatStartedAfterARemovalByTagDoesNotTakeTheValueOfALoadThatReadTheSourceBefore()
    {
        using var cache = Create();

        var joined = await JoinerOfALoadThatRacedARemovalByTagAsync(cache);

        Assert.Equal((CacheOutcome.Miss, "v2"), (joined.Outcome, joined.Value!.Name));
        // Only the raced write-back counts as refused: the joiner's own load recorded current versions, and its write-back stands.
        Assert.Equal(1, cache.GetStatistics().Total.LeaseLost);
    }

    [Fact]
    public async Task ControlWithoutVersionsTheJoinerTakesTheValueReadBeforeTheRemoval()
    {
        using var cache = Create(versions: false);

        var joined = await JoinerOfALoadThatRacedARemovalByTagAsync(cache);

        Assert.Equal("v1", joined.Value!.Name);
    }

    /// <summary>
    /// As <see cref="JoinerOfALoadThatRacedARemovalByTagAsync"/>, with a load that finds nothing: a null, which is not
    /// cached (the default), so there is no write-back to check; its lease's release checks the tags' versions instead.
    /// </summary>
    private static async Task<CacheResult<Item?>> JoinerOfANullLoadThatRacedARemovalByTagAsync(CacheFlowCache cache)
    {
        var loader = new HeldLoader<Item?>(null);
        var load = cache.GetOrCreateAsync("page:9", loader.LoadAsync, Lists);
        await loader.Reached;
        await cache.RemoveByTagAsync("lists");
        var joiner = cache.GetOrCreateAsync("page:9", _ => ValueTask.FromResult<Item?>(new Item(9, "created")), Lists);
        await Eventually.TrueAsync(() => cache.GetStatistics().Total.Misses == 2, "the second read missed and joined the load");

        loader.Release();

        Assert.Null((await load.Within()).Value);
        return await joiner.Within();
    }

    [Fact]
    public async Task AReadThatStartedAfterARemovalByTagDoesNotTakeTheNullOfALoadThatReadTheSourceBefore()
    {
        using var cache = Create();

        var joined = await JoinerOfANullLoadThatRacedARemovalByTagAsync(cache);

        Assert.Equal("created", joined.Value?.Name);
    }

    /// <summary>With no removal between, the null is shared: the release found the versions it recorded.</summary>
    [Fact]
    public async Task ATaggedNullIsSharedWithTheCallersThatJoinedItsLoad()
    {
        using var cache = Create();
        var loader = new HeldLoader<Item?>(null);
        var load = cache.GetOrCreateAsync("page:9", loader.LoadAsync, Lists);
        await loader.Reached;
        var second = new CountingLoader<Item?>(n => new Item(9, "second"));
        var joiner = cache.GetOrCreateAsync("page:9", second.LoadAsync, Lists);
        await Eventually.TrueAsync(() => cache.GetStatistics().Total.Misses == 2, "the second read missed and joined the load");

        loader.Release();

        Assert.Null((await load.Within()).Value);
        Assert.Equal((CacheOutcome.Miss, null, 0), ((await joiner.Within()).Outcome, (await joiner).Value, second.Calls));
    }

    [Fact]
    public async Task ControlWithoutVersionsTheJoinerTakesTheNullReadBeforeTheRemoval()
    {
        using var cache = Create(versions: false);

        var joined = await JoinerOfANullLoadThatRacedARemovalByTagAsync(cache);

        Assert.Null(joined.Value);
    }

    /// <summary>
    /// An output-cache style entry (written with tags, read without naming them) whose tag index was evicted, then its
    /// tag removed. Returns whether the read still finds it.
    /// </summary>
    private static async Task<bool> RawReadAfterARemovalWhoseIndexWasEvictedAsync(CacheFlowCache cache, IDatabase db)
    {
        Assert.True(await cache.SetRawAsync("response:1", "\"old\""u8.ToArray(), Lists));
        Assert.NotNull(await cache.GetRawAsync("response:1"));
        Assert.True(await db.KeyDeleteAsync(cache.Keys.Tag("lists")));

        await cache.RemoveByTagAsync("lists");

        return await cache.GetRawAsync("response:1") is not null;
    }

    [Fact]
    public async Task AReadThatDoesNotNameTheTagsChecksTheVersionsTheEntryRecorded()
    {
        using var cache = Create();

        Assert.False(await RawReadAfterARemovalWhoseIndexWasEvictedAsync(cache, Redis.GetDatabase()));
    }

    [Fact]
    public async Task ControlWithoutVersionsTheRawReadFindsTheRemovedEntry()
    {
        using var cache = Create(versions: false);

        Assert.True(await RawReadAfterARemovalWhoseIndexWasEvictedAsync(cache, Redis.GetDatabase()));
    }

    [Fact]
    public async Task AnEntryReadUnderOtherTagsThanItWasWrittenWithIsAMiss()
    {
        using var cache = Create();
        await cache.GetOrCreateAsync("page:1", _ => Source("old"), Lists);

        var read = await cache.GetOrCreateAsync("page:1", _ => Source("new"), new CacheEntryOptions { Tags = ["lists", "pages"] });

        Assert.Equal((CacheOutcome.Miss, "new"), (read.Outcome, read.Value!.Name));
    }

    [Fact]
    public async Task ABatchOfTaggedKeysRecordsTheVersionsAndARemovalByTagMakesThemMisses()
    {
        using var cache = Create();
        var keys = new[] { "page:1", "page:2", "page:3" };
        await cache.GetOrCreateManyAsync(keys, (missing, _) => ValueTask.FromResult<IReadOnlyDictionary<string, Item>>(missing.ToDictionary(k => k, _ => new Item(1, "old"))), Lists);
        Assert.True(await Redis.GetDatabase().KeyDeleteAsync(cache.Keys.Tag("lists")));

        await cache.RemoveByTagAsync("lists");

        var read = await cache.GetOrCreateManyAsync(keys, (missing, _) => ValueTask.FromResult<IReadOnlyDictionary<string, Item>>(missing.ToDictionary(k => k, _ => new Item(1, "new"))), Lists);
        Assert.All(keys, k => Assert.Equal((CacheOutcome.Miss, "new"), (read[k].Outcome, read[k].Value!.Name)));
    }
}

public sealed class GarnetTagVersionTests(GarnetBackend backend) : TagVersionTests(backend), IClassFixture<GarnetBackend>;

public sealed class RedisTagVersionTests(RealRedisBackend backend) : TagVersionTests(backend), IClassFixture<RealRedisBackend>;

public sealed class ClusterTagVersionTests(ClusterBackend backend) : TagVersionTests(backend), IClassFixture<ClusterBackend>;
