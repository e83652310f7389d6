using System.Net.Http.Json;
using CacheFlow.Testing;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace CacheFlow.Api.Tests;

/// <summary>
/// List pages on a cache Redis configured as caches are (<c>maxmemory 32mb</c>, <c>allkeys-lru</c>; durable data on a
/// Redis of its own), filled past its memory by another client, a megabyte at a time between rounds of reads of every
/// page (a page Redis evicted is loaded again and indexed again), until Redis has evicted the <c>users:list</c> tag's
/// index while pages cached before that stay. Then every
/// user is renamed through the API: each PATCH removes the tag, which finds no index to walk. With tag versions every
/// page that stayed is a miss and shows the new names; the control, versions off, serves the old pages as hits.
/// </summary>
public sealed class TagEvictionTests(PostgresFixture postgres, ITestOutputHelper output) : IClassFixture<PostgresFixture>, IAsyncDisposable
{
    private const int Limit = 5;
    private const int Pages = ApiFactory.SeedUsers / Limit;
    private const int FillValue = 4096;
    // Eviction samples keys, and Redis's LRU clock ticks once a second: which keys go is chance. The index usually goes
    // within a few rounds; a round in which the tag's version went instead makes every page load again (and be indexed
    // again). The bound is a hang detector, far beyond what a run takes.
    private const int FillRounds = 1000;

    private readonly TestResources _resources = new("cacheflow-tag-eviction-");

    public ValueTask DisposeAsync() => _resources.DisposeAsync();

    [Fact]
    public async Task AfterRedisEvictedTheListTagsIndexEveryPageThatStayedShowsTheRenamedUsers()
    {
        var (stale, unindexed) = await StalePagesAfterTheIndexIsEvictedAsync(versions: true);

        Assert.True(unindexed > 0);
        Assert.Equal(0, stale);
    }

    [Fact]
    public async Task ControlWithoutTagVersionsThePagesTheEvictedIndexListedAreServedWithTheOldNames()
    {
        var (stale, unindexed) = await StalePagesAfterTheIndexIsEvictedAsync(versions: false);

        Assert.True(unindexed > 0);
        Assert.True(stale > 0, "every page showed the renamed users");
    }

    /// <summary>Returns how many of the pages cached before the rename still show an old name, and how many pages had lost their index entry.</summary>
    private async Task<(int Stale, int Unindexed)> StalePagesAfterTheIndexIsEvictedAsync(bool versions)
    {
        var ct = TestContext.Current.CancellationToken;
        if (RedisServer.Binary is null || postgres.Server is null)
            ServerRequirement.Unavailable("redis-server and PostgreSQL are not both installed (apt-get install redis-server postgresql)");
        var cacheRedis = await _resources.RedisAsync("--maxmemory", "32mb", "--maxmemory-policy", "allkeys-lru");
        var durable = await _resources.RedisAsync();
        var api = new ApiFactory(_resources.Data.CreateSubdirectory(versions ? "versions" : "control").FullName, cacheRedis.Configuration, await postgres.Server!.CreateDatabaseAsync(),
            new Dictionary<string, string> { ["ConnectionStrings:DurableRedis"] = durable.Configuration },
            services: versions ? null : s => s.PostConfigure<CacheFlowOptions>(o => o.Protections &= ~CacheProtections.TagVersions));
        _resources.Track(api);
        var client = api.CreateClient();
        for (var page = 1; page <= Pages; page++)
        {
            Assert.Equal("MISS", (await client.GetAsync($"/users?page={page}&limit={Limit}", ct)).XCache());
            Assert.Equal("HIT", (await client.GetAsync($"/users?page={page}&limit={Limit}", ct)).XCache());
        }

        await using var filler = cacheRedis.Connect();
        var db = filler.GetDatabase();
        var server = filler.GetServer(cacheRedis.Configuration);
        var pageKeys = new List<RedisKey>();
        await foreach (var key in server.KeysAsync(pattern: "cf:{users:list:*", pageSize: 1000))
        {
            if (!((string)key!).EndsWith(":lease", StringComparison.Ordinal) && !((string)key!).EndsWith(":revoked", StringComparison.Ordinal))
                pageKeys.Add(key);
        }

        Assert.Equal(Pages, pageKeys.Count);
        const string Index = "cf:tag:{users:list}";
        var value = new byte[FillValue];
        Random.Shared.NextBytes(value);
        var unindexed = new List<RedisKey>();
        var rounds = 0;
        for (; rounds < FillRounds && unindexed.Count < 3; rounds++)
        {
            // Reads keep the pages (and the tag's version) recently used; nothing reads the index. Redis's LRU clock
            // ticks once a second, so some pages go too: a read loads such a page again, under the index there is then.
            for (var page = 1; page <= Pages; page++)
                Assert.Equal(System.Net.HttpStatusCode.OK, (await client.GetAsync($"/users?page={page}&limit={Limit}", ct)).StatusCode);
            await Task.WhenAll(Enumerable.Range(0, 256).Select(i => db.StringSetAsync($"fill:{rounds}:{i}", value)));
            unindexed.Clear();
            foreach (var key in pageKeys)
            {
                if (await db.KeyExistsAsync(key) && await db.SortedSetScoreAsync(Index, (string)key!) is null)
                    unindexed.Add(key);
            }
        }

        var stayed = 0;
        foreach (var key in pageKeys)
            stayed += await db.KeyExistsAsync(key) ? 1 : 0;
        Assert.True(unindexed.Count >= 3, $"after {rounds} MB of fill: {stayed} pages stayed, {unindexed.Count} of them unindexed, index {(await db.KeyExistsAsync(Index) ? "present" : "evicted")}");
        var evicted = (await server.InfoAsync("stats")).SelectMany(g => g).Single(p => p.Key == "evicted_keys").Value;

        for (var id = 1; id <= ApiFactory.SeedUsers; id++)
            await (await client.PatchAsJsonAsync($"/users/{id}", new { username = $"renamed{id}" }, ct)).JsonAsync();

        var stale = 0;
        var seen = new List<string>();
        for (var page = 1; page <= Pages; page++)
        {
            var response = await client.GetAsync($"/users?page={page}&limit={Limit}", ct);
            var names = (await response.JsonAsync())["users"]!.AsArray().Select(u => (string)u!["username"]!).ToList();
            var old = names.Any(n => !n.StartsWith("renamed", StringComparison.Ordinal));
            stale += old ? 1 : 0;
            seen.Add($"page {page}: {response.XCache()}{(old ? " (old names)" : "")}");
        }

        output.WriteLine($"tag versions {(versions ? "on" : "off")}: {rounds} MB of fill, {evicted} keys evicted, {unindexed.Count} of {Pages} pages cached without an index entry; "
            + $"after {ApiFactory.SeedUsers} renames {stale} pages showed old names: {string.Join(", ", seen)}");
        return (stale, unindexed.Count);
    }

}
