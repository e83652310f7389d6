using CacheFlow.Redis;
using StackExchange.Redis;

namespace CacheFlow.Tests;

/// <summary>
/// Invalidations that cannot be lost or outrun: a write-through that committed before an invalidation cannot land
/// after it, and a tag removal interrupted half-way is finished by the next. Each with a control that turns the
/// mechanism off and shows the stale value it prevents.
/// </summary>
public abstract class InvalidationTests(IRedisBackend backend)
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly CacheEntryOptions Tagged = new() { Tags = ["items"] };

    private IConnectionMultiplexer Redis => backend.Redis;

    /// <summary>
    /// The interleaving: request A commits v1 and is about to write it through; request B commits v2 and invalidates;
    /// only then does A's write-through reach Redis. Sequential calls force that order.
    /// </summary>
    private static async Task<(bool Written, CacheResult<Item?> Read)> LateWriteThroughAsync(CacheFlowCache cache)
    {
        await cache.RemoveAsync("item:1", None);                                   // B's invalidation, after B's commit of v2
        var written = await cache.SetAsync("item:1", new Item(1, "v1"), cancellationToken: None); // A's write-through of v1, late
        var read = await cache.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "v2")), cancellationToken: None);
        return (written, read);
    }

    [Fact]
    public async Task AWriteThroughThatReachesRedisAfterAnInvalidationDoesNotPutTheOlderRowBack()
    {
        using var cache = TestCaches.Create(Redis);

        var (written, read) = await LateWriteThroughAsync(cache);

        Assert.False(written);
        Assert.Equal((CacheOutcome.Miss, "v2"), (read.Outcome, read.Value!.Name));
    }

    [Fact]
    public async Task ControlWithoutTheRevocationMarkerTheLateWriteThroughServesTheOlderRow()
    {
        using var cache = TestCaches.Create(Redis, configure: o => o.Protections &= ~CacheProtections.Revocations);

        var (written, read) = await LateWriteThroughAsync(cache);

        Assert.True(written);
        Assert.Equal((CacheOutcome.Hit, "v1"), (read.Outcome, read.Value!.Name));
    }

    [Fact]
    public async Task AWriteThroughLongAfterAnInvalidationLandsAsUsual()
    {
        using var cache = TestCaches.Create(Redis, configure: o => o.LeaseDuration = TimeSpan.FromMilliseconds(100));
        await cache.RemoveAsync("item:1", None);
        await Eventually.TrueAsync(() => !Redis.GetDatabase().KeyExists(RevokedKey(cache, "item:1")), "the revocation marker expired");

        Assert.True(await cache.SetAsync("item:1", new Item(1, "v3"), cancellationToken: None));
        Assert.Equal(CacheOutcome.Hit, (await cache.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "loaded")), cancellationToken: None)).Outcome);
    }

    /// <summary>
    /// Tags 300 entries (more than one batch), then removes the tag with a failure injected after the first batch was
    /// taken from the index and before its entries were deleted (a connection lost, a process killed), then removes
    /// it again. Returns how many of the tagged entries are still cached.
    /// </summary>
    private async Task<int> SurvivorsOfAnInterruptedTagRemovalAsync(Action<CacheFlowOptions> configure)
    {
        var redis = ChaosRedis.Over(Redis);
        using var cache = TestCaches.Create(redis.Connection, configure: configure);
        for (var i = 0; i < 300; i++)
            await cache.GetOrCreateAsync($"item:{i}", _ => ValueTask.FromResult(new Item(i, "old")), Tagged, None);
        redis.FailAfter((method, args) => ChaosRedis.IsScript(method, args, RedisScripts.TakeTagged));

        Assert.Equal(-1, await cache.RemoveByTagAsync("items", None));
        redis.Fault = RedisFault.None;
        await cache.RemoveByTagAsync("items", None);

        var survivors = 0;
        for (var i = 0; i < 300; i++)
        {
            var read = await cache.GetOrCreateAsync($"item:{i}", _ => ValueTask.FromResult(new Item(i, "new")), Tagged, None);
            survivors += read.Value!.Name == "old" ? 1 : 0;
        }

        return survivors;
    }

    // The removal set is shown on its own, without tag versions (which alone make the survivors misses: TagVersionTests).
    [Fact]
    public async Task ATagRemovalInterruptedHalfWayIsFinishedByTheNextAndNoTaggedEntrySurvives()
    {
        Assert.Equal(0, await SurvivorsOfAnInterruptedTagRemovalAsync(o => o.Protections &= ~(CacheProtections.KeepInvalidations | CacheProtections.TagVersions)));
    }

    [Fact]
    public async Task ControlWithoutTheRemovalSetTheMembersTakenBeforeTheFailureStayCached()
    {
        Assert.Equal(256, await SurvivorsOfAnInterruptedTagRemovalAsync(o => o.Protections &= ~(CacheProtections.KeepInvalidations | CacheProtections.TagRemovalSets | CacheProtections.TagVersions)));
    }

    [Fact]
    public async Task WithoutTheRemovalSetTagVersionsAloneMakeTheMembersTakenBeforeTheFailureMisses()
    {
        Assert.Equal(0, await SurvivorsOfAnInterruptedTagRemovalAsync(o => o.Protections &= ~(CacheProtections.KeepInvalidations | CacheProtections.TagRemovalSets)));
    }

    [Fact]
    public async Task ATagIndexForgetsExpiredMembersAndExpiresWithItsLastEntry()
    {
        using var cache = TestCaches.Create(Redis);
        var shortLived = new CacheEntryOptions { Duration = TimeSpan.FromSeconds(2), Tags = ["items"] };
        var longLived = new CacheEntryOptions { Duration = TimeSpan.FromMinutes(10), Tags = ["hot"] };
        var shortHot = new CacheEntryOptions { Duration = TimeSpan.FromSeconds(2), Tags = ["hot"] };
        var db = Redis.GetDatabase();
        for (var i = 0; i < 20; i++)
            await cache.GetOrCreateAsync($"item:{i}", _ => ValueTask.FromResult(new Item(i, "x")), shortLived, None);
        await cache.GetOrCreateAsync("hot:1", _ => ValueTask.FromResult(new Item(1, "x")), longLived, None);
        Assert.Equal(20, await db.SortedSetLengthAsync(TagKey(cache, "items")));

        // The short-lived entries expire, and their index with them; a hot tag's index keeps only live members.
        await Eventually.TrueAsync(() => !db.KeyExists(TagKey(cache, "items")), "the index expired with its last entry");
        for (var i = 0; i < 20; i++)
            await cache.GetOrCreateAsync($"hot:short:{i}", _ => ValueTask.FromResult(new Item(i, "x")), shortHot, None);
        await Eventually.TrueAsync(() => !db.KeyExists(cache.Keys.Entry("hot:short:19")), "the short entries expired");
        await cache.GetOrCreateAsync("hot:2", _ => ValueTask.FromResult(new Item(2, "x")), longLived, None);

        Assert.Equal(2, await db.SortedSetLengthAsync(TagKey(cache, "hot")));
    }

    private static string RevokedKey(CacheFlowCache cache, string key) => cache.Keys.Entry(key) + ":revoked";

    private static string TagKey(CacheFlowCache cache, string tag) => cache.Keys.Tag(tag);
}

public sealed class GarnetInvalidationTests(GarnetBackend backend) : InvalidationTests(backend), IClassFixture<GarnetBackend>;

public sealed class RedisInvalidationTests(RealRedisBackend backend) : InvalidationTests(backend), IClassFixture<RealRedisBackend>;

public sealed class ClusterInvalidationTests(ClusterBackend backend) : InvalidationTests(backend), IClassFixture<ClusterBackend>;
