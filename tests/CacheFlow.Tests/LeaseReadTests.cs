namespace CacheFlow.Tests;

/// <summary>
/// Reads that take the lease as they read: a key family whose reads mostly miss switches to them, so a miss is two
/// Redis calls (the read-or-lease script, the write-back) instead of three; a family that mostly hits keeps its GETs.
/// The calls are counted through a <see cref="ChaosRedis"/> connection with no fault set.
/// </summary>
public sealed class LeaseReadTests(GarnetBackend backend) : IClassFixture<GarnetBackend>
{
    [Fact]
    public async Task AMissInAFamilyThatMostlyMissesIsTwoRedisCalls()
    {
        var redis = ChaosRedis.Over(backend.Redis);
        using var cache = TestCaches.Create(redis.Connection);
        for (var id = 1; id <= 8; id++)
            await cache.GetOrCreateAsync($"cold:{id}", _ => ValueTask.FromResult(new Item(1, "v"))).Within();
        redis.Sent.Clear();

        var read = await cache.GetOrCreateAsync("cold:9", _ => ValueTask.FromResult(new Item(9, "v9"))).Within();
        var again = await cache.GetOrCreateAsync<Item>("cold:9", _ => throw new InvalidOperationException("cached")).Within();

        Assert.Equal(CacheOutcome.Miss, read.Outcome);
        Assert.Equal(("v9", CacheOutcome.Hit), (again.Value!.Name, again.Outcome));
        // The miss: read-or-lease, write-back. The hit after it: the same script (the family still mostly misses).
        Assert.Equal(["ScriptEvaluateAsync", "ScriptEvaluateAsync", "ScriptEvaluateAsync"], redis.Sent);
    }

    [Fact]
    public async Task ControlAFamilyThatMostlyHitsReadsWithAGetAndAMissIsThreeRedisCalls()
    {
        var redis = ChaosRedis.Over(backend.Redis);
        using var cache = TestCaches.Create(redis.Connection);
        await cache.GetOrCreateAsync("hot:1", _ => ValueTask.FromResult(new Item(1, "v"))).Within();
        for (var i = 0; i < 40; i++)
            await cache.GetOrCreateAsync<Item>("hot:1", _ => throw new InvalidOperationException("cached")).Within();
        redis.Sent.Clear();

        await cache.GetOrCreateAsync("hot:2", _ => ValueTask.FromResult(new Item(2, "v2"))).Within();

        Assert.Equal(["StringGetAsync", "ScriptEvaluateAsync", "ScriptEvaluateAsync"], redis.Sent);
    }
}
