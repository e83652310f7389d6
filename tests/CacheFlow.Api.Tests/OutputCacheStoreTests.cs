using System.Runtime.CompilerServices;
using CacheFlow.AspNetCore;
using CacheFlow.Tests;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.OutputCaching;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace CacheFlow.Api.Tests;

/// <summary>
/// ASP.NET Core output caching with <see cref="CacheFlowOutputCacheStore"/>: small apps on TestServer, each with a
/// handler that counts its calls, share one Redis-protocol server; run on embedded Garnet and on a real Redis.
/// </summary>
public abstract class OutputCacheStoreTests(IRedisBackend backend)
{
    [Fact]
    public async Task ASecondRequestIsServedFromTheStoreInRedis()
    {
        await using var app = await OutputCacheApp.StartAsync(backend.Redis, Prefix());
        var client = app.Client;

        var first = await client.GetStringAsync(new Uri("/items", UriKind.Relative));
        var second = await client.GetStringAsync(new Uri("/items", UriKind.Relative));
        var attributed = await client.GetStringAsync(new Uri("/attributed", UriKind.Relative));
        var attributedAgain = await client.GetStringAsync(new Uri("/attributed", UriKind.Relative));

        Assert.Equal(("items 1", "items 1"), (first, second));
        Assert.Equal(("attributed 2", "attributed 2"), (attributed, attributedAgain));
        Assert.Equal(2, app.Calls);
        // In Redis, under the store's own prefix inside the cache's: not in the in-memory store.
        Assert.Equal(2, (await KeysAsync($"{Prefix()}{{output-cache:*}}")).Count);
        Assert.Equal((2, 2), (app.Statistics.Families["output-cache"].Hits, app.Statistics.Families["output-cache"].Misses));
    }

    [Fact]
    public async Task EvictByTagInOneInstanceEvictsForAnotherSharingTheRedis()
    {
        await using var a = await OutputCacheApp.StartAsync(backend.Redis, Prefix());
        await using var b = await OutputCacheApp.StartAsync(backend.Redis, Prefix());
        var cachedByB = await b.Client.GetStringAsync(new Uri("/items", UriKind.Relative));
        var otherByB = await b.Client.GetStringAsync(new Uri("/other", UriKind.Relative));
        var seenByA = await a.Client.GetStringAsync(new Uri("/items", UriKind.Relative));

        await a.Store.EvictByTagAsync("items", CancellationToken.None);

        Assert.Equal(("items 1", "items 1"), (cachedByB, seenByA));
        Assert.Equal("items 3", await b.Client.GetStringAsync(new Uri("/items", UriKind.Relative)));
        // Control: an entry with another tag stays cached.
        Assert.Equal(otherByB, await b.Client.GetStringAsync(new Uri("/other", UriKind.Relative)));
        Assert.Equal((0, 3), (a.Calls, b.Calls));
    }

    [Fact]
    public async Task WithTheL1OnAnEvictionInOneInstanceDropsTheCopyAnotherServesFromItsL1()
    {
        await using var a = await OutputCacheApp.StartAsync(backend.Redis, Prefix(), localCache: true);
        await using var b = await OutputCacheApp.StartAsync(backend.Redis, Prefix(), localCache: true);
        var cached = await b.Client.GetStringAsync(new Uri("/items", UriKind.Relative));
        Assert.Equal(cached, await b.Client.GetStringAsync(new Uri("/items", UriKind.Relative)));
        // Control: b served it from its L1 (the copy of what it wrote), which only the bus can drop.
        Assert.Equal(1, b.Statistics.Families["output-cache"].LocalHits);

        await a.Store.EvictByTagAsync("items", CancellationToken.None);

        // The bus message reaches b after a's eviction returned: b serves its copy until then, and never after.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (await b.Client.GetStringAsync(new Uri("/items", UriKind.Relative), deadline.Token) == cached)
            await Task.Delay(10, deadline.Token);
        Assert.Equal(2, b.Calls);
    }

    [Fact]
    public async Task AResponseIsServedUntilItsExpiryAndNotAfterWhateverTheCacheJitter()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await OutputCacheApp.StartAsync(backend.Redis, Prefix(), time: time, jitterPercent: 50);
        var first = await app.Client.GetStringAsync(new Uri("/items", UriKind.Relative));

        time.Advance(OutputCacheApp.ItemsExpiry - TimeSpan.FromMilliseconds(1));
        var justBefore = await app.Client.GetStringAsync(new Uri("/items", UriKind.Relative));
        time.Advance(TimeSpan.FromMilliseconds(1));
        var atExpiry = await app.Client.GetStringAsync(new Uri("/items", UriKind.Relative));

        Assert.Equal(("items 1", "items 1", "items 2"), (first, justBefore, atExpiry));
    }

    private async Task<List<string>> KeysAsync(string pattern)
    {
        var keys = new List<string>();
        await foreach (var key in backend.Redis.GetServers()[0].KeysAsync(pattern: pattern))
            keys.Add(key.ToString());
        return keys;
    }

    private static string Prefix([CallerMemberName] string test = "") => $"oc:{test}:";
}

public sealed class GarnetOutputCacheStoreTests(GarnetBackend backend) : OutputCacheStoreTests(backend), IClassFixture<GarnetBackend>;

public sealed class RedisOutputCacheStoreTests(RealRedisBackend backend) : OutputCacheStoreTests(backend), IClassFixture<RealRedisBackend>;
