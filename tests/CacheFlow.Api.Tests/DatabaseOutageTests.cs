using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CacheFlow.Api.Tests.Contract;
using CacheFlow.Testing;
using Npgsql;

namespace CacheFlow.Api.Tests;

/// <summary>
/// The API on a real redis-server and a real PostgreSQL that is stopped mid-test (<c>pg_ctl stop -m immediate</c>) and
/// started again. What it answers meanwhile, 503s included, is checked against its OpenAPI document.
/// </summary>
public sealed class DatabaseOutageTests : IAsyncLifetime
{
    private const int CachedUsers = 8;
    private const int Workers = 4;
    private const int ReadsPerWorker = 64;

    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("cacheflow-dbdown-");
    private readonly ScriptedRepository _repository = new();
    private int _applies;
    private OwnServers? _servers;
    private ApiFactory? _api;
    private string _database = "";

    public async ValueTask InitializeAsync()
    {
        _servers = await OwnServers.StartAsync();
        if (_servers is null)
            return;
        _repository.BeforeApplyCreates = _ =>
        {
            Interlocked.Increment(ref _applies);
            return Task.CompletedTask;
        };
        _database = new NpgsqlConnectionStringBuilder(_servers.Users).Database!;
        _api = new ApiFactory(_data.FullName, _servers.Redis.Configuration, _servers.Users, new Dictionary<string, string>
        {
            // Two attempts 50 ms apart: were the outage to spend attempts, the write queued during it would be dead-lettered.
            ["WriteBehind:MaxAttempts"] = "2",
            ["WriteBehind:RetryBaseDelay"] = "00:00:00.050",
        }, _repository);
    }

    public async ValueTask DisposeAsync()
    {
        if (_api is not null)
            await _api.DisposeAsync();
        if (_servers is not null)
            await _servers.DisposeAsync();
        _data.Delete(recursive: true);
    }

    [Fact]
    public async Task WhilePostgresIsDownCachedUsersAreServedTheRestAnswers503AndAfterARestartAllWorksAgain()
    {
        if (_api is null || _servers is null)
        {
            ServerRequirement.Unavailable("redis-server and PostgreSQL are not both installed (apt-get install redis-server postgresql)");
            return;
        }

        var client = _api.CreateClient();
        var checker = await OpenApiChecker.LoadAsync(client);
        for (var id = 1; id <= CachedUsers; id++)
        {
            Assert.Equal("MISS", (await client.GetAsync($"/users/{id}")).XCache());
            Assert.Equal("HIT", (await client.GetAsync($"/users/{id}")).XCache());
        }

        await (await client.GetAsync("/users?page=1&limit=5")).JsonAsync();

        await _servers.Postgres.StopAsync();

        // A bounded load: 4 workers, 64 reads each, every other one of a cached id.
        var reads = (await Task.WhenAll(Enumerable.Range(0, Workers).Select(w => ReadAsync(_api.CreateClient(), w)))
            .WaitAsync(TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken)).SelectMany(r => r).ToList();
        var counts = reads.GroupBy(r => r.Status).OrderBy(g => g.Key).Select(g => $"{g.Key}: {g.Count()}");
        TestContext.Current.TestOutputHelper?.WriteLine($"{reads.Count} reads during the outage: {string.Join(", ", counts)}");

        Assert.Equal(Workers * ReadsPerWorker / 2, reads.Count(r => r.Cached && r.Status == HttpStatusCode.OK && r.XCache is "HIT" or "STALE"));
        Assert.Equal(Workers * ReadsPerWorker / 2, reads.Count(r => !r.Cached && r.Status == HttpStatusCode.ServiceUnavailable && r.RetryAfter > TimeSpan.Zero));
        Assert.DoesNotContain(reads, r => r.Status == HttpStatusCode.InternalServerError);
        Assert.All(reads.Where(r => r.Status != HttpStatusCode.OK), r =>
        {
            Assert.Equal("application/problem+json", r.MediaType);
            Assert.DoesNotContain("   at ", r.Body, StringComparison.Ordinal);
            Assert.DoesNotContain("Exception", r.Body, StringComparison.Ordinal);
        });

        // Every other endpoint that needs the database says so; what the cache and Redis can answer still works.
        var admin = _api.CreateAdminClient();
        await AssertUnavailableAsync(checker, await client.GetAsync($"/users/{CachedUsers + 1}"));
        await checker.AssertDocumentedAsync(await client.GetAsync("/users/1"));
        await AssertUnavailableAsync(checker, await client.GetAsync("/users?page=3&limit=5"));
        await checker.AssertDocumentedAsync(await client.GetAsync("/users?page=1&limit=5"));
        await AssertUnavailableAsync(checker, await client.PostAsJsonAsync("/users", new { username = "during_outage", email = "during@example.com" }));
        await AssertUnavailableAsync(checker, await client.PatchAsJsonAsync("/users/1", new { is_active = false }));
        await AssertUnavailableAsync(checker, await client.DeleteAsync("/users/2"));
        await AssertUnavailableAsync(checker, await client.PostAsync($"/users/{ApiFactory.SeedUsers}/logins", null));
        var login = await client.PostAsync("/users/1/logins", null);
        await login.JsonAsync();
        await checker.AssertDocumentedAsync(login);
        await AssertUnavailableAsync(checker, await admin.PostAsync("/cache/warm", null));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/health/ready")).StatusCode);

        // Write-behind accepts: the write waits in Redis, and the flusher's failed tries while the database is down spend no attempts.
        var accepted = await client.PostAsJsonAsync("/users/async", new { username = "queued_outage", email = "queued@example.com" });
        var queued = await accepted.JsonAsync(HttpStatusCode.Accepted);
        await checker.AssertDocumentedAsync(accepted);
        var statusUrl = (string)queued["status_url"]!;
        await Eventually.TrueAsync(() => Volatile.Read(ref _applies) >= 3, "the flusher tried the queued write three times");
        var pendingResponse = await client.GetAsync(statusUrl);
        var pending = await pendingResponse.JsonAsync();
        await checker.AssertDocumentedAsync(pendingResponse);
        Assert.Equal(("pending", 0), ((string)pending["status"]!, (int)pending["attempts"]!));

        await _servers.Postgres.StartAgainAsync();

        // The first read after the restart reaches the database: no dead pooled connection answers it.
        var first = await client.GetAsync($"/users/{CachedUsers + 1}");
        await first.JsonAsync();
        Assert.Equal("MISS", first.XCache());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);

        JsonNode status = pending;
        await Eventually.TrueAsync(async () => (string)(status = await (await client.GetAsync(statusUrl)).JsonAsync())["status"]! != "pending", "the queued write was applied");
        Assert.Equal("done", (string)status["status"]!);
        var created = await (await client.GetAsync((string)status["location"]!)).JsonAsync();
        Assert.Equal("queued_outage", (string)created["username"]!);
    }

    [Fact]
    public async Task WithRedisAndPostgresBothDownAWriteBehindCreateAnswers503()
    {
        if (_api is null || _servers is null)
        {
            ServerRequirement.Unavailable("redis-server and PostgreSQL are not both installed (apt-get install redis-server postgresql)");
            return;
        }

        var client = _api.CreateClient();
        var checker = await OpenApiChecker.LoadAsync(client);
        await (await client.GetAsync("/users/1")).JsonAsync();
        var queued = await (await client.PostAsJsonAsync("/users/async", new { username = "before_both", email = "before-both@example.com" }))
            .JsonAsync(HttpStatusCode.Accepted);

        await _servers.Postgres.StopAsync();
        _servers.Redis.Kill();

        // No queue and no database: nothing can take the write, so it is refused (never a 500).
        await AssertUnavailableAsync(checker, await client.PostAsJsonAsync("/users/async", new { username = "nowhere", email = "nowhere@example.com" }));
        // The leaderboard falls back to the database, which is down too.
        await AssertUnavailableAsync(checker, await client.GetAsync("/users/top"));
        // Statuses live in Redis.
        var status = await client.GetAsync((string)queued["status_url"]!);
        Assert.Equal("Status unavailable", (string)(await status.ProblemAsync(HttpStatusCode.ServiceUnavailable))["title"]!);
        await checker.AssertDocumentedAsync(status);
    }

    [Fact]
    public async Task AfterAnOutageNoRequestSawAtMostTheFirstReadMeetsADeadPooledConnection()
    {
        if (_api is null || _servers is null)
        {
            ServerRequirement.Unavailable("redis-server and PostgreSQL are not both installed (apt-get install redis-server postgresql)");
            return;
        }

        // Concurrent reads leave several connections idle in the pool; no request reaches the database while it is down.
        var client = _api.CreateClient();
        await Task.WhenAll(Enumerable.Range(1, 16).Select(async id => await (await client.GetAsync($"/users/{id}")).JsonAsync()));
        await using (var admin = new NpgsqlConnection(_servers.Postgres.AdminConnectionString))
        {
            await admin.OpenAsync(TestContext.Current.CancellationToken);
            await using var count = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE datname = @db", admin);
            count.Parameters.AddWithValue("db", _database);
            var pooled = (long)(await count.ExecuteScalarAsync(TestContext.Current.CancellationToken))!;
            Assert.True(pooled >= 2, $"pooled connections: {pooled}");
        }

        await _servers.Postgres.StopAsync();
        await _servers.Postgres.StartAgainAsync();

        var statuses = new List<HttpStatusCode>();
        for (var id = 17; id <= 24; id++)
            statuses.Add((await client.GetAsync($"/users/{id}")).StatusCode);
        TestContext.Current.TestOutputHelper?.WriteLine($"reads after the restart: {string.Join(", ", statuses)}");
        Assert.All(statuses.Skip(1), s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Contains(statuses[0], new[] { HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable });
    }

    private static async Task<List<Read>> ReadAsync(HttpClient client, int worker)
    {
        var reads = new List<Read>(ReadsPerWorker);
        for (var i = 0; i < ReadsPerWorker; i++)
        {
            var n = worker * ReadsPerWorker + i;
            var cached = n % 2 == 0;
            var id = cached ? 1 + n / 2 % CachedUsers : CachedUsers + 1 + n / 2 % (ApiFactory.SeedUsers - CachedUsers);
            using var response = await client.GetAsync($"/users/{id}");
            reads.Add(new Read(cached, response.StatusCode, response.XCache(), response.Content.Headers.ContentType?.MediaType,
                await response.Content.ReadAsStringAsync(), response.Headers.RetryAfter?.Delta));
        }

        return reads;
    }

    private static async Task AssertUnavailableAsync(OpenApiChecker checker, HttpResponseMessage response)
    {
        var problem = await response.ProblemAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Equal("Database unavailable", (string)problem["title"]!);
        Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero, $"Retry-After: {response.Headers.RetryAfter}");
        await checker.AssertDocumentedAsync(response);
    }

    private sealed record Read(bool Cached, HttpStatusCode Status, string XCache, string? MediaType, string Body, TimeSpan? RetryAfter);
}
