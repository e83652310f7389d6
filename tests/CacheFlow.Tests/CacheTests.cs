using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace CacheFlow.Tests;

/// <summary>The cache's behaviour on one Redis-protocol server; run on embedded Garnet and on a real Redis.</summary>
public abstract class CacheTests(IRedisBackend backend)
{
    private static readonly CancellationToken None = CancellationToken.None;

    private IConnectionMultiplexer Redis => backend.Redis;

    [Fact]
    public async Task MissLoadsAndCachesThenHitDoesNotLoad()
    {
        using var cache = TestCaches.Create(Redis);
        var loader = new CountingLoader<Item>(n => new Item(n, "first"));

        var first = await cache.GetOrCreateAsync("item:1", loader.LoadAsync, cancellationToken: None);
        var second = await cache.GetOrCreateAsync("item:1", loader.LoadAsync, cancellationToken: None);

        Assert.Equal((CacheOutcome.Miss, new Item(1, "first")), (first.Outcome, first.Value));
        Assert.Equal((CacheOutcome.Hit, new Item(1, "first")), (second.Outcome, second.Value));
        Assert.Equal(1, loader.Calls);
        var stats = cache.GetStatistics().Families["item"];
        Assert.Equal((1, 1, 1), (stats.Hits, stats.Misses, stats.Loads));
    }

    [Fact]
    public async Task HitReturnsTheStoredJsonAsItIs()
    {
        using var cache = TestCaches.Create(Redis);
        var item = new Item(7, "seven");
        await cache.SetAsync("item:7", item, cancellationToken: None);

        var hit = await cache.GetOrCreateJsonAsync<Item>("item:7", _ => throw new InvalidOperationException("no load on a hit"), cancellationToken: None);

        Assert.Equal(CacheOutcome.Hit, hit.Outcome);
        Assert.Equal(JsonSerializer.Serialize(item, JsonSerializerOptions.Web), Encoding.UTF8.GetString(hit.Json.Span));
    }

    [Fact]
    public async Task SerializerOptionsAreFrozenWhenTheCacheIsMadeSoFirstReadsOfManyTypesAtOnceSucceed()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        var prefix = $"frozen{Guid.NewGuid():N}:";
        using var cache = TestCaches.Create(Redis, configure: o => (o.SerializerOptions, o.KeyPrefix) = (options, prefix));

        // Frozen by the constructor, once. Before, the first typed read of each type froze them, and a read of another
        // type on another thread (or anyone else using the options) between its check and its write made it throw
        // InvalidOperationException: the bench's 16 workers did, on redis-server.
        Assert.True(options.IsReadOnly);
        Assert.NotNull(options.TypeInfoResolver);

        var reads = await Task.WhenAll(
            Task.Run(async () => (object?)(await cache.GetOrCreateAsync("a", _ => ValueTask.FromResult(new Item(1, "a")), cancellationToken: None)).Value),
            Task.Run(async () => (object?)(await cache.GetOrCreateAsync("b", _ => ValueTask.FromResult(7L), cancellationToken: None)).Value),
            Task.Run(async () => (object?)(await cache.GetOrCreateAsync("c", _ => ValueTask.FromResult(new[] { 1, 2 }), cancellationToken: None)).Value),
            Task.Run(async () => (object?)(await cache.GetOrCreateAsync("d", _ => ValueTask.FromResult(new Dictionary<string, int> { ["x"] = 1 }), cancellationToken: None)).Value),
            Task.Run(() => (object?)JsonSerializer.Serialize(new Item(2, "b"), options)));

        Assert.Equal([new Item(1, "a"), 7L, new[] { 1, 2 }, new Dictionary<string, int> { ["x"] = 1 }, """{"id":2,"name":"b"}"""], reads);
    }

    [Fact]
    public async Task NullIsReturnedButNotCached()
    {
        using var cache = TestCaches.Create(Redis);
        var loader = new CountingLoader<Item?>(_ => null);

        var first = await cache.GetOrCreateJsonAsync("item:404", loader.LoadAsync, cancellationToken: None);
        var second = await cache.GetOrCreateJsonAsync("item:404", loader.LoadAsync, cancellationToken: None);

        Assert.True(first.IsNull && second.IsNull);
        Assert.Equal(CacheOutcome.Miss, second.Outcome);
        Assert.Equal(2, loader.Calls);
    }

    [Fact]
    public async Task EveryEntryHasTheTimeToLiveAskedFor()
    {
        using var cache = TestCaches.Create(Redis, configure: o => o.KeyPrefix = $"ttl{Guid.NewGuid():N}:");
        var options = new CacheEntryOptions { Duration = TimeSpan.FromSeconds(30) };
        await cache.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "a")), options, None);
        await cache.SetAsync("item:2", new Item(2, "b"), cancellationToken: None);

        var keys = await ScanAsync("ttl*");
        Assert.Equal(2, keys.Count);
        var ttls = await Task.WhenAll(keys.Select(k => Redis.GetDatabase().KeyTimeToLiveAsync(k)));
        Assert.All(ttls, ttl => Assert.InRange(ttl!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5)));
        Assert.Contains(ttls, ttl => ttl <= TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task AnEntryPastItsExpiryByTheCacheClockIsAMiss()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var cache = TestCaches.Create(Redis, clock);
        var loader = new CountingLoader<Item>(n => new Item(n, "v"));
        var options = new CacheEntryOptions { Duration = TimeSpan.FromMinutes(1) };

        await cache.GetOrCreateAsync("item:1", loader.LoadAsync, options, None);
        clock.Advance(TimeSpan.FromSeconds(61));
        var after = await cache.GetOrCreateAsync("item:1", loader.LoadAsync, options, None);

        Assert.Equal((CacheOutcome.Miss, 2), (after.Outcome, after.Value!.Id));
    }

    [Fact]
    public async Task SetWritesThroughSoTheNextReadHits()
    {
        using var cache = TestCaches.Create(Redis);
        Assert.True(await cache.SetAsync("item:3", new Item(3, "written"), cancellationToken: None));

        var read = await cache.GetOrCreateAsync<Item>("item:3", _ => throw new InvalidOperationException("no load"), cancellationToken: None);

        Assert.Equal((CacheOutcome.Hit, "written"), (read.Outcome, read.Value!.Name));
    }

    [Fact]
    public async Task RemoveMakesTheNextReadLoad()
    {
        using var cache = TestCaches.Create(Redis);
        var loader = new CountingLoader<Item>(n => new Item(n, "v"));
        await cache.GetOrCreateAsync("item:1", loader.LoadAsync, cancellationToken: None);

        Assert.True(await cache.RemoveAsync("item:1", None));
        var after = await cache.GetOrCreateAsync("item:1", loader.LoadAsync, cancellationToken: None);

        Assert.Equal((CacheOutcome.Miss, 2), (after.Outcome, loader.Calls));
    }

    [Fact]
    public async Task RemoveByTagRemovesEveryTaggedEntryAndNothingElse()
    {
        using var cache = TestCaches.Create(Redis);
        var lists = new CacheEntryOptions { Tags = ["lists"] };
        for (var page = 1; page <= 300; page++)
            await cache.SetAsync($"list:page={page}", new Item(page, "page"), lists, None);
        await cache.SetAsync("item:1", new Item(1, "untagged"), cancellationToken: None);

        Assert.Equal(300, await cache.RemoveByTagAsync("lists", None));

        var untagged = await cache.GetOrCreateAsync<Item>("item:1", _ => throw new InvalidOperationException(), cancellationToken: None);
        var page7 = await cache.GetOrCreateAsync("list:page=7", _ => ValueTask.FromResult(new Item(7, "reloaded")), lists, None);
        Assert.Equal(CacheOutcome.Hit, untagged.Outcome);
        Assert.Equal((CacheOutcome.Miss, "reloaded"), (page7.Outcome, page7.Value!.Name));
    }

    [Fact]
    public async Task ATagIndexOutlivesItsLongestLivedEntry()
    {
        var prefix = $"tag{Guid.NewGuid():N}:";
        using var cache = TestCaches.Create(Redis, configure: o => o.KeyPrefix = prefix);
        await cache.SetAsync("a", new Item(1, "long"), new CacheEntryOptions { Duration = TimeSpan.FromMinutes(10), Tags = ["t"] }, None);
        await cache.SetAsync("b", new Item(2, "short"), new CacheEntryOptions { Duration = TimeSpan.FromSeconds(5), Tags = ["t"] }, None);

        var ttl = await Redis.GetDatabase().KeyTimeToLiveAsync($"{prefix}tag:{{t}}");

        Assert.InRange(ttl!.Value, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10));
    }

    [Fact]
    public async Task RemoveByPrefixPagesThroughEveryKeyAndMatchesGlobCharactersLiterally()
    {
        using var cache = TestCaches.Create(Redis, configure: o => o.ScanPageSize = 50);
        for (var i = 0; i < 400; i++)
            await cache.SetAsync($"user:4*:{i}", new Item(i, "starred"), cancellationToken: None);
        await cache.SetAsync("user:42:0", new Item(0, "plain"), cancellationToken: None);
        await cache.SetAsync("user:4?:0", new Item(0, "question"), cancellationToken: None);

        Assert.Equal(400, await cache.RemoveByPrefixAsync("user:4*:", None));

        foreach (var survivor in new[] { "user:42:0", "user:4?:0" })
        {
            var read = await cache.GetOrCreateAsync<Item>(survivor, _ => throw new InvalidOperationException(survivor), cancellationToken: None);
            Assert.Equal(CacheOutcome.Hit, read.Outcome);
        }
    }

    [Fact]
    public async Task AFactoryThatThrowsReachesTheCallerCachesNothingAndIsCounted()
    {
        using var cache = TestCaches.Create(Redis);

        await Assert.ThrowsAsync<TimeoutException>(async () =>
            await cache.GetOrCreateAsync<Item>("item:1", _ => throw new TimeoutException("db"), cancellationToken: None));
        var next = await cache.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "ok")), cancellationToken: None);

        Assert.Equal(CacheOutcome.Miss, next.Outcome);
        Assert.Equal(1, cache.GetStatistics().Total.LoadFailures);
    }

    private async Task<List<RedisKey>> ScanAsync(string pattern)
    {
        var keys = new List<RedisKey>();
        foreach (var server in Redis.GetServers().Where(s => !s.IsReplica))
        {
            long cursor = 0;
            do
            {
                var page = (RedisResult[])(await server.ExecuteAsync("SCAN", cursor, "MATCH", pattern, "COUNT", 1000))!;
                cursor = long.Parse((string)page[0]!, System.Globalization.CultureInfo.InvariantCulture);
                keys.AddRange((RedisKey[])page[1]!);
            }
            while (cursor != 0);
        }

        return keys;
    }
}

public sealed class GarnetCacheTests(GarnetBackend backend) : CacheTests(backend), IClassFixture<GarnetBackend>;

public sealed class RedisCacheTests(RealRedisBackend backend) : CacheTests(backend), IClassFixture<RealRedisBackend>;

public sealed class ClusterCacheTests(ClusterBackend backend) : CacheTests(backend), IClassFixture<ClusterBackend>;
