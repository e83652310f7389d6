using CacheFlow.Redis;
using StackExchange.Redis;

namespace CacheFlow.Tests;

/// <summary>The in-process L1 and its invalidation bus, with two cache instances (two connections) on one Redis.</summary>
public abstract class LocalCacheTests(IRedisBackend backend) : IAsyncLifetime
{
    private readonly string _prefix = $"l1{Guid.NewGuid():N}:";
    private ConnectionMultiplexer _redisA = null!, _redisB = null!;
    private CacheFlowCache _a = null!, _b = null!;

    public async ValueTask InitializeAsync()
    {
        _redisA = await backend.ConnectAsync();
        _redisB = await backend.ConnectAsync();
        _a = TestCaches.Create(_redisA, configure: Configure);
        _b = TestCaches.Create(_redisB, configure: Configure);
    }

    public async ValueTask DisposeAsync()
    {
        _a.Dispose();
        _b.Dispose();
        await _redisA.DisposeAsync();
        await _redisB.DisposeAsync();
    }

    protected CacheFlowCache A => _a;

    protected CacheFlowCache B => _b;

    protected IConnectionMultiplexer RedisA => _redisA;

    [Fact]
    public async Task ASecondReadIsAnsweredByTheLocalCacheAndCountedAsAnL1Hit()
    {
        await A.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "v1")));

        var second = await A.GetOrCreateJsonAsync<Item>("item:1", _ => throw new InvalidOperationException("cached"));

        Assert.Equal((CacheOutcome.Hit, true), (second.Outcome, second.FromLocal));
        Assert.Equal((1, 1), (A.GetStatistics().Total.Hits, A.GetStatistics().Total.LocalHits));
    }

    [Fact]
    public async Task AnImmutableValueIsDeserializedOnceAndSharedByLaterL1Hits()
    {
        var loaded = await A.GetOrCreateAsync("frozen:1", _ => ValueTask.FromResult(new FrozenItem(1, "v1")));
        var second = await A.GetOrCreateAsync<FrozenItem>("frozen:1", _ => throw new InvalidOperationException("cached"));
        var third = await A.GetOrCreateAsync<FrozenItem>("frozen:1", _ => throw new InvalidOperationException("cached"));

        Assert.Equal(CacheOutcome.Miss, loaded.Outcome);
        Assert.Same(loaded.Value, second.Value);
        Assert.Same(second.Value, third.Value);

        // A write in the other instance drops the copy, and the instance kept with it.
        await B.SetAsync("frozen:1", new FrozenItem(1, "v2"));
        await Eventually.TrueAsync(() => A.LocalEntries == 0, "A dropped its copy");
        var after = await A.GetOrCreateAsync<FrozenItem>("frozen:1", _ => throw new InvalidOperationException("cached in Redis"));
        Assert.Equal("v2", after.Value!.Name);
    }

    [Fact]
    public async Task AMutableValueIsAFreshCopyOnEveryL1HitSoAChangeToOneIsNotSeenByTheNext()
    {
        await A.GetOrCreateAsync("mutable:1", _ => ValueTask.FromResult(new MutableItem { Name = "v1" }));
        var second = await A.GetOrCreateAsync<MutableItem>("mutable:1", _ => throw new InvalidOperationException("cached"));
        second.Value!.Name = "changed by a caller";

        var third = await A.GetOrCreateAsync<MutableItem>("mutable:1", _ => throw new InvalidOperationException("cached"));

        Assert.Equal(2, A.GetStatistics().Total.LocalHits);
        Assert.NotSame(second.Value, third.Value);
        Assert.Equal("v1", third.Value!.Name);
    }

    [Fact]
    public async Task ARemovalInOneInstanceDropsTheLocalCopyInTheOther()
    {
        await A.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "v1")));
        Assert.True((await A.GetOrCreateJsonAsync<Item>("item:1", _ => throw new InvalidOperationException())).FromLocal);

        await B.RemoveAsync("item:1");

        await Eventually.TrueAsync(() => A.LocalEntries == 0, "A dropped its copy");
        var reloaded = await A.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "v2")));
        Assert.Equal((CacheOutcome.Miss, "v2"), (reloaded.Outcome, reloaded.Value!.Name));
    }

    [Fact]
    public async Task APrefixRemovalInOneInstanceDropsTheOthersCopiesUnderItAndNoOthers()
    {
        foreach (var key in new[] { "user:1", "user:2", "other:1" })
            await A.GetOrCreateAsync(key, _ => ValueTask.FromResult(new Item(1, key)));
        Assert.Equal<long?>(3, A.LocalEntries);

        Assert.Equal(2, await B.RemoveByPrefixAsync("user:"));

        // The copy of other:1 stays in the L1 (a prefix removal also retires every copy read before it, by its stamp).
        await Eventually.TrueAsync(() => A.LocalEntries == 1, "A dropped its copies under user:");
        Assert.Equal(CacheOutcome.Miss, (await A.GetOrCreateAsync("user:1", _ => ValueTask.FromResult(new Item(1, "v2")))).Outcome);
    }

    [Fact]
    public async Task ALoadsWriteBackPublishesNothingSoTheOtherInstanceKeepsItsCopy()
    {
        await B.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "v1")));
        await B.GetOrCreateAsync("item:2", _ => ValueTask.FromResult(new Item(2, "v1")));
        // Gone from Redis without a message (as an eviction would), so A's read is a load with a write-back.
        Assert.True(await RedisA.GetDatabase().KeyDeleteAsync(_prefix + "{item:1}"));
        Assert.Equal(CacheOutcome.Miss, (await A.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "v1")))).Outcome);

        // A's messages arrive in order: once B has dropped item:2, a message from the write-back would have come first.
        await A.RemoveAsync("item:2");
        await Eventually.TrueAsync(() => B.LocalEntries == 1, "B dropped item:2");
        Assert.True((await B.GetOrCreateJsonAsync<Item>("item:1", _ => throw new InvalidOperationException("in B's L1"))).FromLocal);
    }

    [Fact]
    public async Task WritesAndTagRemovalsInOneInstanceReachTheOther()
    {
        var lists = new CacheEntryOptions { Tags = ["lists"] };
        await A.GetOrCreateAsync("list:1", _ => ValueTask.FromResult(new Item(1, "page")), lists);
        await A.GetOrCreateAsync("item:2", _ => ValueTask.FromResult(new Item(2, "old")));
        Assert.Equal(2, A.LocalEntries);

        await B.RemoveByTagAsync("lists");
        await B.SetAsync("item:2", new Item(2, "new"));

        await Eventually.TrueAsync(() => A.LocalEntries == 0, "A dropped both copies");
        Assert.Equal("new", (await A.GetOrCreateAsync<Item>("item:2", _ => throw new InvalidOperationException())).Value!.Name);
    }

    [Fact]
    public async Task AnInstanceWithoutAnL1TellsTheOthersWhatItWritesAndRemoves()
    {
        await FillAsync(A);
        using var writer = TestCaches.Create(_redisB, configure: o => o.KeyPrefix = _prefix);

        Assert.True(await writer.RemoveAsync("item:1"));
        Assert.True(await writer.SetAsync("item:2", new Item(2, "new")));
        Assert.Equal(1, await writer.RemoveByTagAsync("lists"));
        Assert.Equal(1, await writer.RemoveByPrefixAsync("user:"));

        await Eventually.TrueAsync(() => A.LocalEntries == 0, "A dropped every copy");
        Assert.Equal("new", (await A.GetOrCreateAsync<Item>("item:2", _ => throw new InvalidOperationException("in Redis"))).Value!.Name);
        foreach (var key in new[] { "item:1", "list:1", "user:1" })
            Assert.Equal(CacheOutcome.Miss, (await A.GetOrCreateAsync(key, _ => ValueTask.FromResult(new Item(0, "new")), key == "list:1" ? Lists : null)).Outcome);
    }

    [Fact]
    public async Task ControlTheSameChangesWithoutABusMessageLeaveTheOthersCopiesInPlace()
    {
        await FillAsync(A);
        var db = RedisA.GetDatabase();

        // The entries leave Redis as the removals above take them, but no instance says so.
        foreach (var key in new[] { "item:1", "item:2", "list:1", "user:1" })
            Assert.True(await db.KeyDeleteAsync(_prefix + "{" + key + "}"));

        foreach (var key in new[] { "item:1", "item:2", "list:1", "user:1" })
        {
            var read = await A.GetOrCreateJsonAsync<Item>(key, _ => throw new InvalidOperationException("in the L1"), key == "list:1" ? Lists : null);
            Assert.True(read.FromLocal, key);
        }
    }

    /// <summary>An L1 copy in <paramref name="cache"/> of a key, a written key, a tagged key and a key under a prefix.</summary>
    private static async Task FillAsync(CacheFlowCache cache)
    {
        foreach (var key in new[] { "item:1", "item:2", "list:1", "user:1" })
            await cache.GetOrCreateAsync(key, _ => ValueTask.FromResult(new Item(1, "old")), key == "list:1" ? Lists : null);
        Assert.Equal(4, cache.LocalEntries);
    }

    [Fact]
    public async Task AReadThatFetchedAValueBeforeARemovalCannotPutItInTheL1After()
    {
        var next = await LateStoreAsync(stamps: true);

        Assert.Equal((CacheOutcome.Miss, "v2"), (next.Outcome, next.Value!.Name));
    }

    [Fact]
    public async Task ControlWithoutStampsTheLateStoreServesTheRemovedValueFromTheL1()
    {
        var next = await LateStoreAsync(stamps: false);

        Assert.Equal((CacheOutcome.Hit, "v1"), (next.Outcome, next.Value!.Name));
    }

    [Fact]
    public async Task AReadThatFetchedAValueBeforeARemovalOfItsTagCannotPutItInTheL1After()
    {
        var next = await LateStoreAsync(stamps: true, RemoveListsTagAsync);

        Assert.Equal((CacheOutcome.Miss, "v2"), (next.Outcome, next.Value!.Name));
    }

    [Fact]
    public async Task ControlWithoutStampsTheLateStoreServesAValueWhoseTagWasRemovedFromTheL1()
    {
        var next = await LateStoreAsync(stamps: false, RemoveListsTagAsync);

        Assert.Equal((CacheOutcome.Hit, "v1"), (next.Outcome, next.Value!.Name));
    }

    [Fact]
    public async Task ALoadWhoseValueWasRemovedBeforeItReachedTheL1DoesNotPutItThere()
    {
        var next = await LateWriteBackAsync(stamps: true);

        Assert.Equal((CacheOutcome.Miss, "v2"), (next.Outcome, next.Value!.Name));
    }

    [Fact]
    public async Task ControlWithoutStampsTheLateWriteBackServesTheRemovedValueFromTheL1()
    {
        var next = await LateWriteBackAsync(stamps: false);

        Assert.Equal((CacheOutcome.Hit, "v1"), (next.Outcome, next.Value!.Name));
    }

    /// <summary>
    /// A load writes v1 to Redis and its answer is held on the way back, before the load keeps its L1 copy;
    /// meanwhile the same instance removes the key (acknowledged); then the answer comes. Returns what a read that
    /// starts after the removal sees.
    /// </summary>
    private async Task<CacheResult<Item?>> LateWriteBackAsync(bool stamps)
    {
        var (cache, redis) = Held(stamps);
        using var _ = cache;
        var (written, release) = redis.HoldReply((method, args) => ChaosRedis.IsScript(method, args, RedisScripts.Fill));
        var load = cache.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "v1")));
        await written;
        Assert.True(await cache.RemoveAsync("item:1"));
        release.SetResult();
        Assert.Equal("v1", (await load).Value!.Name);

        return await cache.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "v2")));
    }

    /// <summary>An instance like A whose Redis answers the test can hold (<see cref="ChaosRedis.HoldReply"/>); without stamps on its L1 copies, the control.</summary>
    private (CacheFlowCache Cache, ChaosRedis Redis) Held(bool stamps)
    {
        var redis = ChaosRedis.Over(_redisA);
        return (TestCaches.Create(redis.Connection, configure: o =>
        {
            Configure(o);
            if (!stamps)
                o.Protections = CacheProtections.All & ~CacheProtections.LocalStamps;
        }), redis);
    }

    /// <summary>
    /// A read fetches v1 from Redis and its answer is held on the way back, before the read stores its L1 copy;
    /// meanwhile the same instance removes the key (acknowledged); then the answer comes. Returns what a read that
    /// starts after the removal sees.
    /// </summary>
    private async Task<CacheResult<Item?>> LateStoreAsync(bool stamps, Func<CacheFlowCache, Task>? remove = null)
    {
        // Written by an instance without an L1, so no bus message reaches the reader.
        using (var writer = TestCaches.Create(_redisB, configure: o => o.KeyPrefix = _prefix))
            await writer.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "v1")), Lists);
        var (reader, redis) = Held(stamps);
        using var _ = reader;
        var (fetched, release) = redis.HoldReply((method, _) => method == nameof(IDatabaseAsync.StringSetAndGetAsync));
        var held = reader.GetOrCreateAsync<Item>("item:1", _ => throw new InvalidOperationException("in Redis"), Lists);
        await fetched;
        await (remove ?? RemoveItemAsync)(reader);
        release.SetResult();
        // The held read began before the removal: v1 is a fair answer for it.
        Assert.Equal("v1", (await held).Value!.Name);

        return await reader.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "v2")), Lists);
    }

    private static readonly CacheEntryOptions Lists = new() { Tags = ["lists"] };

    private static async Task RemoveItemAsync(CacheFlowCache cache) => Assert.True(await cache.RemoveAsync("item:1"));

    private static async Task RemoveListsTagAsync(CacheFlowCache cache) => Assert.Equal(1, await cache.RemoveByTagAsync("lists"));

    private void Configure(CacheFlowOptions options)
    {
        options.KeyPrefix = _prefix;
        options.LocalCacheEnabled = true;
        options.LocalMaxAge = TimeSpan.FromMinutes(1);
        // About the L1, not the guard: the first calls on a cold Garnet can outlast its 500 ms on a loaded machine.
        options.RedisTimeout = TimeSpan.Zero;
    }
}

public sealed class GarnetLocalCacheTests(GarnetBackend backend) : LocalCacheTests(backend), IClassFixture<GarnetBackend>;

public sealed class RedisLocalCacheTests(RealRedisBackend backend) : LocalCacheTests(backend), IClassFixture<RealRedisBackend>
{
    [Fact]
    public async Task AnInstanceThatLostItsConnectionClearsItsLocalCacheWhenItReconnects()
    {
        await A.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "v1")));
        Assert.Equal(1, A.LocalEntries);

        // Drop every connection of A (its subscription too): messages sent meanwhile would be lost.
        foreach (var endpoint in RedisA.GetEndPoints())
            await RedisA.GetServer(endpoint).ExecuteAsync("CLIENT", "KILL", "SKIPME", "yes");

        await Eventually.TrueAsync(() => A.LocalEntries == 0 && RedisA.IsConnected, "A reconnected and cleared its L1");
    }
}
