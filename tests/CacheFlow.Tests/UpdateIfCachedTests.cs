using CacheFlow.Redis;
using StackExchange.Redis;

namespace CacheFlow.Tests;

/// <summary>
/// <see cref="CacheFlowCache.UpdateIfCachedAsync{T}"/>: a cached entry changed in place (compare-and-set on the bytes
/// read, the time to live and tags kept), the other instances' L1 copies dropped by the message the change publishes,
/// and a load in progress revoked when there is nothing cached to change. Two instances on two connections.
/// </summary>
public abstract class UpdateIfCachedTests(IRedisBackend backend) : IAsyncLifetime
{
    private static readonly CacheEntryOptions Lists = new() { Tags = ["lists"], Duration = TimeSpan.FromMinutes(10), JitterPercent = 0 };
    private readonly string _prefix = $"u{Guid.NewGuid():N}:";
    private ConnectionMultiplexer _redisB = null!;

    public async ValueTask InitializeAsync() => _redisB = await backend.ConnectAsync();

    public async ValueTask DisposeAsync() => await _redisB.DisposeAsync();

    private CacheFlowCache Create(IConnectionMultiplexer redis, bool local = false, bool leases = true) =>
        TestCaches.Create(redis, configure: o =>
        {
            o.KeyPrefix = _prefix;
            o.LocalCacheEnabled = local;
            o.LocalMaxAge = TimeSpan.FromMinutes(1);
            if (!leases)
                o.Protections = CacheProtections.All & ~CacheProtections.Leases;
        });

    private static Func<Item, Item> Append(string suffix) => item => item with { Name = item.Name + suffix };

    [Fact]
    public async Task AnUpdateChangesTheCachedValueInPlaceKeepingItsTimeToLiveAndItsTags()
    {
        using var cache = Create(backend.Redis);
        await cache.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "v1")), Lists);
        var db = backend.Redis.GetDatabase();
        var ttl = await db.KeyTimeToLiveAsync(cache.Keys.Entry("item:1"));

        Assert.True(await cache.UpdateIfCachedAsync("item:1", Append("+")));

        var read = await cache.GetOrCreateAsync<Item>("item:1", _ => throw new InvalidOperationException("cached"), Lists);
        Assert.Equal((CacheOutcome.Hit, "v1+"), (read.Outcome, read.Value!.Name));
        var kept = await db.KeyTimeToLiveAsync(cache.Keys.Entry("item:1"));
        Assert.NotNull(kept);
        Assert.InRange(kept.Value, TimeSpan.FromMinutes(9), ttl!.Value);
        Assert.Equal(1, await cache.RemoveByTagAsync("lists"));
        Assert.Equal(CacheOutcome.Miss, (await cache.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "v2")), Lists)).Outcome);
    }

    [Fact]
    public async Task AnUpdateOfAKeyThatIsNotCachedChangesNothing()
    {
        using var cache = Create(backend.Redis);

        Assert.False(await cache.UpdateIfCachedAsync("item:1", Append("+")));

        Assert.False(await backend.Redis.GetDatabase().KeyExistsAsync(cache.Keys.Entry("item:1")));
    }

    /// <summary>
    /// B keeps L1 copies of item:1 and item:2; A changes item:1 in place, then removes item:2; once B is down to
    /// <paramref name="left"/> copies, returns what B reads of item:1. (On a cluster, messages published on two nodes
    /// can arrive in either order: B's copies are counted, not the removal's message taken as the last.)
    /// </summary>
    private async Task<(bool FromLocal, string Name)> ReadInTheOtherInstanceAfterAChangeAsync(Func<CacheFlowCache, Task> change, int left)
    {
        using var a = Create(backend.Redis);
        using var b = Create(_redisB, local: true);
        foreach (var key in new[] { "item:1", "item:2" })
            await b.GetOrCreateAsync(key, _ => ValueTask.FromResult(new Item(1, "v1")));
        Assert.Equal(2, b.LocalEntries);

        await change(a);
        Assert.True(await a.RemoveAsync("item:2"));
        await Eventually.TrueAsync(() => b.LocalEntries == left, $"B kept {left} copies");

        var read = await b.GetOrCreateJsonAsync<Item>("item:1", _ => throw new InvalidOperationException("cached"));
        return (read.FromLocal, System.Text.Json.JsonSerializer.Deserialize<Item>(read.Json.Span, System.Text.Json.JsonSerializerOptions.Web)!.Name);
    }

    [Fact]
    public async Task AnUpdateInOneInstanceDropsTheOthersL1Copy()
    {
        var read = await ReadInTheOtherInstanceAfterAChangeAsync(async a => Assert.True(await a.UpdateIfCachedAsync("item:1", Append("+"))), left: 0);

        Assert.Equal((false, "v1+"), read);
    }

    [Fact]
    public async Task ControlTheSameChangeWrittenWithoutItsMessageLeavesTheOthersCopy()
    {
        var read = await ReadInTheOtherInstanceAfterAChangeAsync(async a =>
        {
            // The bytes of v1+ (written under a key of their own), put in item:1's entry by hand: no message goes with them.
            Assert.True(await a.SetAsync("scratch", new Item(1, "v1+")));
            var db = backend.Redis.GetDatabase();
            Assert.True(await db.StringSetAsync(a.Keys.Entry("item:1"), await db.StringGetAsync(a.Keys.Entry("scratch")), null, keepTtl: true));
            Assert.Equal("v1+", (await a.GetOrCreateAsync<Item>("item:1", _ => throw new InvalidOperationException("cached"))).Value!.Name);
        }, left: 1);

        Assert.Equal((true, "v1"), read);
    }

    /// <summary>
    /// A load reads the source (v1) and is held; the source changes and the update finds nothing cached; then the load
    /// ends. Returns what a read that starts after the update sees.
    /// </summary>
    private async Task<CacheResult<Item?>> ReadAfterAnUpdateThatFoundALoadInProgressAsync(bool leases)
    {
        using var cache = Create(backend.Redis, leases: leases);
        var (read, release) = (new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), new TaskCompletionSource<Item>(TaskCreationOptions.RunContinuationsAsynchronously));
        var load = cache.GetOrCreateAsync("item:1", async _ =>
        {
            read.SetResult();
            return await release.Task;
        });
        await read.Task;

        Assert.False(await cache.UpdateIfCachedAsync("item:1", Append("+")));
        release.SetResult(new Item(1, "v1"));
        // The load began before the change: v1 is a fair answer for it.
        Assert.Equal("v1", (await load).Value!.Name);

        return await cache.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "v2")));
    }

    [Fact]
    public async Task AnUpdateThatFindsNothingCachedRevokesALoadThatReadTheSourceBefore()
    {
        var read = await ReadAfterAnUpdateThatFoundALoadInProgressAsync(leases: true);

        Assert.Equal((CacheOutcome.Miss, "v2"), (read.Outcome, read.Value!.Name));
    }

    [Fact]
    public async Task ControlWithoutLeasesTheLoadWritesItsOldValueBackAfterTheUpdate()
    {
        var read = await ReadAfterAnUpdateThatFoundALoadInProgressAsync(leases: false);

        Assert.Equal((CacheOutcome.Hit, "v1"), (read.Outcome, read.Value!.Name));
    }

    [Fact]
    public async Task TwoUpdatesThatReadTheSameBytesAreBothApplied()
    {
        var chaos = ChaosRedis.Over(backend.Redis);
        using var a = Create(chaos.Connection);
        using var b = Create(_redisB);
        await a.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "v1")));
        var scripts = Scripts();
        var (readByA, release) = chaos.HoldReply((method, _) => method == nameof(IDatabaseAsync.StringGetAsync));
        var updateByA = a.UpdateIfCachedAsync("item:1", Append("a"));
        await readByA;

        // B changes the entry between A's read and A's compare-and-set.
        Assert.True(await b.UpdateIfCachedAsync("item:1", Append("b")));
        release.SetResult();
        Assert.True(await updateByA);

        var read = await b.GetOrCreateAsync<Item>("item:1", _ => throw new InvalidOperationException("cached"));
        Assert.Equal("v1ba", read.Value!.Name);
        // A's first compare-and-set was refused, and its second made on what B wrote.
        Assert.Equal(2, Scripts() - scripts);

        int Scripts() => chaos.Sent.Count(m => m == nameof(IDatabaseAsync.ScriptEvaluateAsync));
    }
}

public sealed class GarnetUpdateIfCachedTests(GarnetBackend backend) : UpdateIfCachedTests(backend), IClassFixture<GarnetBackend>;

public sealed class RedisUpdateIfCachedTests(RealRedisBackend backend) : UpdateIfCachedTests(backend), IClassFixture<RealRedisBackend>;

public sealed class ClusterUpdateIfCachedTests(ClusterBackend backend) : UpdateIfCachedTests(backend), IClassFixture<ClusterBackend>;
