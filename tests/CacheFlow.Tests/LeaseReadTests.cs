namespace CacheFlow.Tests;

/// <summary>
/// A read takes the key's lease as it reads (<c>SET NX GET</c>: the entry if there is one, else a placeholder that is
/// the lease): a lone miss is two Redis calls (that read, the write-back), the count HybridCache pays for its GET and
/// SET, in a key family that mostly hits as in one that mostly misses; a hit is one. The calls are counted through a
/// <see cref="ChaosRedis"/> connection with no fault set.
/// </summary>
public sealed class LeaseReadTests(GarnetBackend backend) : IClassFixture<GarnetBackend>
{
    [Fact]
    public async Task AMissAmongHitsOfItsFamilyIsTwoRedisCallsAndAHitOne()
    {
        var redis = ChaosRedis.Over(backend.Redis);
        using var cache = TestCaches.Create(redis.Connection);
        await cache.GetOrCreateAsync("hot:1", _ => ValueTask.FromResult(new Item(1, "v"))).Within();
        for (var i = 0; i < 40; i++)
            await cache.GetOrCreateAsync<Item>("hot:1", _ => throw new InvalidOperationException("cached")).Within();
        redis.Sent.Clear();

        var miss = await cache.GetOrCreateAsync("hot:2", _ => ValueTask.FromResult(new Item(2, "v2"))).Within();
        var hit = await cache.GetOrCreateAsync<Item>("hot:2", _ => throw new InvalidOperationException("cached")).Within();

        Assert.Equal((CacheOutcome.Miss, CacheOutcome.Hit, "v2"), (miss.Outcome, hit.Outcome, hit.Value!.Name));
        Assert.Equal(["StringSetAndGetAsync", "ScriptEvaluateAsync", "StringSetAndGetAsync"], redis.Sent);
    }
}
