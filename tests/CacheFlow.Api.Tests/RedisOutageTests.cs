using System.Net;
using System.Net.Http.Json;
using CacheFlow.Api.Tests.Contract;
using CacheFlow.Testing;

namespace CacheFlow.Api.Tests;

/// <summary>The API on a real redis-server that is killed mid-test and started again; what it answers meanwhile is checked against its OpenAPI document.</summary>
public sealed class RedisOutageTests : IAsyncLifetime
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("cacheflow-outage-");
    private RedisServer? _redis;
    private ApiFactory? _api;

    public async ValueTask InitializeAsync()
    {
        if (RedisServer.Binary is null)
            return;
        _redis = await RedisServer.StartAsync();
        _api = new ApiFactory(_data.FullName, _redis.Configuration, settings: new Dictionary<string, string>
        {
            ["CacheFlow:CircuitBreakDuration"] = "00:00:00.5",
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (_api is not null)
            await _api.DisposeAsync();
        if (_redis is not null)
            await _redis.DisposeAsync();
        _data.Delete(recursive: true);
    }

    [Fact]
    public async Task WhenRedisDiesRequestsBypassTheCacheAndWhenItReturnsTheyHitAgainWithoutARestart()
    {
        if (_api is null || _redis is null)
        {
            ServerRequirement.Unavailable("redis-server is not installed (apt-get install redis-server)");
            return;
        }

        var client = _api.CreateClient();
        var checker = await OpenApiChecker.LoadAsync(client);
        Assert.Equal("MISS", (await client.GetAsync("/users/3")).XCache());
        Assert.Equal("HIT", (await client.GetAsync("/users/3")).XCache());
        var before = await (await client.PostAsJsonAsync("/users/async", new { username = "queued_before", email = "before@example.com" }))
            .JsonAsync(HttpStatusCode.Accepted);

        _redis.Kill();
        for (var i = 0; i < 20; i++)
        {
            var user = await client.GetAsync("/users/3");
            var page = await client.GetAsync("/users?page=1&limit=5");
            Assert.Equal(("BYPASS", "BYPASS"), (user.XCache(), page.XCache()));
            Assert.Equal(3, (long)(await user.JsonAsync())["id"]!);
            Assert.Equal(5, (await page.JsonAsync())["users"]!.AsArray().Count);
            if (i == 0)
            {
                await checker.AssertDocumentedAsync(user);
                await checker.AssertDocumentedAsync(page);
            }
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/health/ready")).StatusCode);

        // Writes still succeed: write-through commits and logs the cache failure; write-behind falls back to the database.
        var created = await client.PostAsJsonAsync("/users", new { username = "during_outage", email = "during@example.com" });
        await created.JsonAsync(HttpStatusCode.Created);
        var queued = await client.PostAsJsonAsync("/users/async", new { username = "queued_outage", email = "queued@example.com" });
        Assert.Equal("queued_outage", (string)(await queued.JsonAsync(HttpStatusCode.Created))["username"]!);
        await checker.AssertDocumentedAsync(created);
        await checker.AssertDocumentedAsync(queued);

        // What lives only in Redis is a 503 in our words: a write's status, the dead letters, a removal (kept for later).
        var admin = _api.CreateAdminClient();
        var unavailable = new[]
        {
            (await client.GetAsync((string)before["status_url"]!), "Status unavailable"),
            (await admin.GetAsync("/cache/dead-letters"), "Queue unavailable"),
            (await admin.DeleteAsync("/cache/keys/user:4"), "Cache unavailable"),
        };
        foreach (var (response, title) in unavailable)
        {
            Assert.Equal(title, (string)(await response.ProblemAsync(HttpStatusCode.ServiceUnavailable))["title"]!);
            await checker.AssertDocumentedAsync(response);
        }
        var bypasses = (long)(await (await client.GetAsync("/cache/stats")).JsonAsync())["cache_stats"]!["bypasses"]!;
        Assert.True(bypasses >= 40, $"bypasses: {bypasses}");

        // Restarted from its append-only file, as a Redis that keeps durable data is: user 3's entry is back.
        await _redis.RestartAsync();
        string outcome;
        var attempts = 0;
        do
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
            outcome = (await client.GetAsync("/users/3")).XCache();
        }
        while (outcome == "BYPASS" && ++attempts < 600);

        Assert.Equal("HIT", outcome);
        Assert.Equal("MISS", (await client.GetAsync("/users/6")).XCache());
        Assert.Equal("HIT", (await client.GetAsync("/users/6")).XCache());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
    }
}
