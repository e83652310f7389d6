using System.Net;
using System.Net.Http.Json;
using CacheFlow.Api.Redis;
using CacheFlow.WriteBehind;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CacheFlow.Api.Tests;

/// <summary>
/// What an abusive client costs: junk list pages are 404 and leave nothing in Redis, a page miss does not count the
/// users again, the rate limits answer 429 with Retry-After, and write statuses are small and expire within the hour.
/// </summary>
public sealed class AbuseTests : IAsyncDisposable
{
    private const int PageSize = 20;
    private const int LastPage = ApiFactory.SeedUsers / PageSize;

    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("cacheflow-abuse-");
    private readonly ScriptedRepository _script = new();
    private ApiFactory? _api;

    private ApiFactory Start(IReadOnlyDictionary<string, string>? settings = null) =>
        _api = new ApiFactory(_data.FullName, settings: settings, repository: _script);

    [Fact]
    public async Task AFloodOfPagesPastTheLastIsNotFoundAndNeitherGrowsRedisNorTheTagSet()
    {
        var api = Start();
        var client = api.CreateClient();
        var redis = api.Services.GetRequiredService<IConnectionMultiplexer>();
        var options = api.Services.GetRequiredService<IOptions<CacheFlowOptions>>().Value;
        var tag = (RedisKey)$"{options.KeyPrefix}tag:{{users:list}}";
        await (await client.GetAsync($"/users?page=1&limit={PageSize}")).JsonAsync();
        var keysBefore = await CountKeysAsync(redis);
        var tagBefore = await redis.GetDatabase().SortedSetLengthAsync(tag);

        foreach (var page in Enumerable.Range(LastPage + 1, 600).Append(int.MaxValue))
        {
            var problem = await (await client.GetAsync($"/users?page={page}&limit={PageSize}")).ProblemAsync(HttpStatusCode.NotFound);
            Assert.Equal(LastPage, (int)problem["pages"]!);
        }

        Assert.Equal(keysBefore, await CountKeysAsync(redis));
        // Page 1 and the count of users: the flood added no member.
        Assert.Equal(2, tagBefore);
        Assert.Equal(tagBefore, await redis.GetDatabase().SortedSetLengthAsync(tag));
        // The flood was answered from the cached count: one COUNT(*), one page read, in all.
        Assert.Equal((1, 1), (_script.Counts, _script.Pages));
    }

    [Fact]
    public async Task PageMissesShareOneCountUntilAWriteDropsItWithThePages()
    {
        var client = Start().CreateClient();
        for (var page = 1; page <= LastPage; page++)
            Assert.Equal(ApiFactory.SeedUsers, (long)(await (await client.GetAsync($"/users?page={page}&limit={PageSize}")).JsonAsync())["total"]!);
        Assert.Equal((1, LastPage), (_script.Counts, _script.Pages));

        // Control: a create drops the pages and the count together, and the next page sees the new total.
        await (await client.PostAsJsonAsync("/users", new { username = "counted_again", email = "counted@example.com" })).JsonAsync(HttpStatusCode.Created);
        var last = await (await client.GetAsync($"/users?page={LastPage + 1}&limit={PageSize}")).JsonAsync();
        Assert.Equal(ApiFactory.SeedUsers + 1, (long)last["total"]!);
        Assert.Equal("counted_again", (string)last["users"]!.AsArray().Single()!["username"]!);
        Assert.Equal(2, _script.Counts);
    }

    [Fact]
    public async Task ADeepPageHoldsTheUsersThatFollowTheOffset()
    {
        var client = Start().CreateClient();
        var all = (await (await client.GetAsync("/users?page=1&limit=100")).JsonAsync())["users"]!.AsArray().Select(u => (long)u!["id"]!).ToList();
        foreach (var (page, limit) in new[] { (2, 7), (3, 25), (9, 7), (60, 1) })
        {
            var ids = (await (await client.GetAsync($"/users?page={page}&limit={limit}")).JsonAsync())["users"]!.AsArray().Select(u => (long)u!["id"]!);
            Assert.Equal(all.Skip((page - 1) * limit).Take(limit), ids);
        }
    }

    [Fact]
    public async Task AClientOverItsLimitGetsA429ProblemWithRetryAfter()
    {
        var client = Start(new Dictionary<string, string>
        {
            ["RateLimits:Enabled"] = "true",
            ["RateLimits:Reads:PermitLimit"] = "3",
            ["RateLimits:Writes:PermitLimit"] = "2",
            ["RateLimits:Writes:Window"] = "00:00:30",
        }).CreateClient();

        foreach (var path in new[] { "/users/1", "/users/2", "/users?page=1" })
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(path)).StatusCode);
        var rejected = await client.GetAsync("/users?page=2");
        await rejected.ProblemAsync(HttpStatusCode.TooManyRequests);
        var retryAfter = int.Parse(rejected.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 60);

        // Writes have their own budget, and the rejected write did not reach the database.
        for (var i = 0; i < 2; i++)
            Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/users/{10 + i}")).StatusCode);
        var write = await client.PostAsJsonAsync("/users", new { username = "limited", email = "limited@example.com" });
        await write.ProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.InRange(int.Parse(write.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture), 1, 30);
        Assert.Null(await _api!.Services.GetRequiredService<Data.IUserRepository>().FindClashAsync("limited", "limited@example.com", CancellationToken.None));

        // The stats ask every Redis primary for INFO: they share the reads' budget. The probes are not limited.
        await (await client.GetAsync("/cache/stats")).ProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
    }

    [Fact]
    public async Task TheDemoLoadIsNotLimitedWhileAnotherClientFromItsAddressIs()
    {
        using var api = await ApiProcess.StartAsync(new Dictionary<string, string>
        {
            ["Storage:DataDirectory"] = _data.FullName,
            ["Storage:SeedUsers"] = "100",
            ["Warming:OnStartup"] = "false",
            ["RateLimits:Enabled"] = "true",
            ["RateLimits:Reads:PermitLimit"] = "5",
            ["RateLimits:Writes:PermitLimit"] = "5",
            ["DemoLoad:OnStartup"] = "true",
            ["DemoLoad:RequestsPerSecond"] = "100",
        });

        // The demo load (from 127.0.0.1, with its process's token) reads far past the limit of 5.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        long reads = 0;
        while (reads <= 50 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
            reads = (long)(await (await api.Client.GetAsync("/cache/stats")).JsonAsync())["cache_stats"]!["total"]!;
        }

        Assert.True(reads > 50, $"the demo load made {reads} reads");
        // Control: this test's client, from the same address without the token, is limited.
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 6; i++)
            statuses.Add((await api.Client.GetAsync("/users/1")).StatusCode);
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
    }

    [Fact]
    public async Task AWriteStatusIsSmallAndExpiresWithinTheHourByDefault()
    {
        Assert.Equal(TimeSpan.FromHours(1), new WriteBehindOptions().StatusRetention);
        var api = Start();
        var accepted = await (await api.CreateClient().PostAsJsonAsync("/users/async", new { username = "short_lived", email = "short@example.com" }))
            .JsonAsync(HttpStatusCode.Accepted);
        // Durable data's Redis: on the embedded default a Garnet of its own, beside the cache's.
        var redis = api.Services.GetRequiredService<DurableRedis>().Connection;
        var requestId = (string)accepted["request_id"]!;
        var keys = new List<RedisKey>();
        foreach (var server in redis.GetServers())
        {
            await foreach (var found in server.KeysAsync(pattern: $"*:status:{requestId}"))
                keys.Add(found);
        }

        var key = Assert.Single(keys);
        var ttl = await redis.GetDatabase().KeyTimeToLiveAsync(key);
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromMinutes(59), TimeSpan.FromHours(1));
        // What GET /users/async/{id} shows and no more: not the queue's copy of the write (its id is the key).
        // (The flusher may have applied it already: then the status also holds the new user's id.)
        var stored = System.Text.Json.Nodes.JsonNode.Parse((string)(await redis.GetDatabase().StringGetAsync(key))!)!.AsObject();
        Assert.Equal("""{"username":"short_lived","email":"short@example.com","is_active":true}""", stored["payload"]!.ToJsonString());
        Assert.Subset(new HashSet<string> { "state", "payload", "result" }, stored.Select(p => p.Key).ToHashSet());
    }

    private static async Task<long> CountKeysAsync(IConnectionMultiplexer redis)
    {
        long count = 0;
        foreach (var server in redis.GetServers().Where(s => !s.IsReplica))
        {
            await foreach (var _ in server.KeysAsync(pattern: "*", pageSize: 1000))
                count++;
        }

        return count;
    }

    public async ValueTask DisposeAsync()
    {
        if (_api is not null)
            await _api.DisposeAsync();
        _data.Delete(recursive: true);
    }
}
