using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CacheFlow.Api.Data;
using CacheFlow.Api.Redis;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace CacheFlow.Api.Tests;

/// <summary>Write-behind creates, logins, dead letters and warming through the API on embedded Garnet and SQLite.</summary>
public sealed class WriteBehindTests : IAsyncDisposable
{
    private readonly ApiHosts _hosts = new();

    private DirectoryInfo Data => _hosts.Data;

    public ValueTask DisposeAsync() => _hosts.DisposeAsync();

    [Fact]
    public async Task AnAcceptedCreateIsReadableAtOnceThenAppliedAndWrittenThroughToTheCache()
    {
        var api = Start();
        var client = api.CreateClient();
        var username = NewUsername();

        var accepted = await client.PostAsJsonAsync("/users/async", new { username, email = $"{username}@Example.com" });
        var body = await accepted.JsonAsync(HttpStatusCode.Accepted);
        var statusUrl = (string)body["status_url"]!;
        Assert.Equal(statusUrl, accepted.Headers.Location!.ToString());
        var early = await (await client.GetAsync(statusUrl)).JsonAsync();
        Assert.Contains((string)early["status"]!, new[] { "pending", "done" });
        Assert.Equal(username, (string)early["user"]!["username"]!);

        var done = await WaitForStatusAsync(client, statusUrl, "done");
        var user = await client.GetAsync((string)done["location"]!);
        Assert.Equal("HIT", user.XCache());
        Assert.Equal($"{username}@example.com", (string)(await user.JsonAsync())["email"]!);
    }

    [Fact]
    public async Task TwoQueuedCreatesWithOneUsernameApplyOneAndDeadLetterTheOtherWithTheReasonWhileOthersFlow()
    {
        var repository = new ScriptedRepository();
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        repository.BeforeApplyCreates = _ => held.Task;
        var api = Start(repository: repository);
        var client = api.CreateClient();
        var username = NewUsername();

        // The flusher is held, so both pass the up-front check and are queued; the clash shows only at flush.
        var first = await QueueAsync(client, username, "first");
        var second = await QueueAsync(client, username, "second");
        var other = await QueueAsync(client, NewUsername(), "other");
        held.SetResult();

        var states = new[] { await WaitForSettledAsync(client, first), await WaitForSettledAsync(client, second) };
        Assert.Equal(["done", "failed"], states.Select(s => (string)s["status"]!).Order());
        var failed = states.Single(s => (string)s["status"]! == "failed");
        Assert.Equal(("username_taken", "Another user already has this username."), ((string)failed["error_code"]!, (string)failed["error"]!));
        Assert.Equal("done", (string)(await WaitForSettledAsync(client, other))["status"]!);

        var deadLetters = await (await api.CreateAdminClient().GetAsync("/cache/dead-letters")).JsonAsync();
        var dead = Assert.Single(deadLetters.AsArray());
        Assert.Equal((string)failed["request_id"]!, (string)dead!["id"]!);
        Assert.Equal(("username_taken", "Another user already has this username."), ((string)dead["error_code"]!, (string)dead["error"]!));
    }

    [Fact]
    public async Task ATransientFailureIsRetriedUntilItSucceedsAndAPersistentOneIsDeadLetteredAfterMaxAttempts()
    {
        var repository = new ScriptedRepository();
        var flaky = NewUsername();
        var broken = NewUsername();
        var flakyFailures = 0;
        repository.BeforeApplyCreates = creates =>
        {
            if (creates.Any(c => c.Username == broken) || (creates.Any(c => c.Username == flaky) && Interlocked.Increment(ref flakyFailures) <= 2))
                throw new TimeoutException("the database timed out");
            return Task.CompletedTask;
        };
        var api = Start(repository: repository, settings: new() { ["WriteBehind:MaxAttempts"] = "4", ["WriteBehind:RetryBaseDelay"] = "00:00:00.010", ["WriteBehind:BatchSize"] = "1" });
        var client = api.CreateClient();

        var flakyUrl = await QueueAsync(client, flaky, "flaky");
        var brokenUrl = await QueueAsync(client, broken, "broken");
        var fineUrl = await QueueAsync(client, NewUsername(), "fine");

        var flakyState = await WaitForSettledAsync(client, flakyUrl);
        var brokenState = await WaitForSettledAsync(client, brokenUrl);
        Assert.Equal(("done", 2), ((string)flakyState["status"]!, (int)flakyState["attempts"]!));
        Assert.Equal(("failed", 4), ((string)brokenState["status"]!, (int)brokenState["attempts"]!));
        // The reason in public words and a code, not the exception's text.
        Assert.Equal(("database_unavailable", "The database did not answer in time."), ((string)brokenState["error_code"]!, (string)brokenState["error"]!));
        Assert.Equal("done", (string)(await WaitForSettledAsync(client, fineUrl))["status"]!);

        var stats = (await (await client.GetAsync("/cache/stats")).JsonAsync())["write_behind"]!;
        Assert.Equal((5, 1), ((long)stats["retried"]!, (long)stats["dead_lettered"]!));
    }

    [Fact]
    public async Task TenThousandLoginsCountAtOnceInRedisAndReachTheDatabaseAsOneUpdatePerUser()
    {
        var repository = new ScriptedRepository();
        // No flush during the test: the logins are written to the database by the drain when the host stops.
        var api = new ApiFactory(Data.FullName, settings: new Dictionary<string, string> { ["Logins:FlushInterval"] = "01:00:00" }, repository: repository);
        var client = api.CreateClient();
        var before = new Dictionary<long, long>();
        for (var id = 1; id <= 50; id++)
            before[id] = (long)(await (await client.GetAsync($"/users/{id}")).JsonAsync())["login_count"]!;

        var logins = Enumerable.Range(0, 10_000).Select(i => (long)(i % 50) + 1).ToArray();
        await Parallel.ForEachAsync(logins, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (id, ct) =>
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/users/{id}/logins", null, ct)).StatusCode));

        var cached = await client.GetAsync("/users/7");
        Assert.Equal(("HIT", before[7] + 200), (cached.XCache(), (long)(await cached.JsonAsync())["login_count"]!));
        var top = (await (await client.GetAsync("/users/top?limit=5")).JsonAsync()).AsArray().Select(u => (long)u!["login_count"]!).ToList();
        Assert.Equal(5, top.Count);
        Assert.Equal(top.OrderDescending(), top);
        Assert.Equal(before[7], await UsersDatabaseFile.LoginCountAsync(Data, 7));
        Assert.Equal(0, repository.LoginUsersUpdated);

        await api.DisposeAsync();

        Assert.Equal(50, repository.LoginUsersUpdated);
        for (var id = 1; id <= 50; id++)
            Assert.Equal(before[id] + 200, await UsersDatabaseFile.LoginCountAsync(Data, id));
    }

    [Fact]
    public async Task TwoFlushersOnOneQueueApplyAThousandWritesExactlyOnce()
    {
        var first = Start(settings: new() { ["WriteBehind:BatchSize"] = "10" });
        var second = _hosts.StartBeside(first, new() { ["WriteBehind:BatchSize"] = "10" });
        var clients = new[] { first.CreateClient(), second.CreateClient() };
        var prefix = NewUsername()[..10];

        var urls = new string[1000];
        await Parallel.ForEachAsync(Enumerable.Range(0, 1000), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
            urls[i] = await QueueAsync(clients[i % 2], $"{prefix}{i:D4}", "pair"));
        foreach (var url in urls)
            Assert.Equal("done", (string)(await WaitForSettledAsync(clients[0], url))["status"]!);

        var flushed = new[] { first, second }.Select(a => a.Services.GetRequiredService<CacheFlow.WriteBehind.WriteBehindQueue>().Statistics.Flushed).ToArray();
        Assert.Equal(1000, flushed.Sum());
        Assert.All(flushed, f => Assert.True(f > 0, "both flushers took part"));
        var page = await (await clients[0].GetAsync("/users?page=1&limit=1")).JsonAsync();
        Assert.Equal(ApiFactory.SeedUsers + 1000, (long)page["total"]!);
    }

    [Fact]
    public async Task AGracefulShutdownDrainsTheQueueBeforeTheProcessEnds()
    {
        var repository = new ScriptedRepository();
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        repository.BeforeApplyCreates = _ => held.Task;
        var api = new ApiFactory(Data.FullName, settings: new Dictionary<string, string> { ["WriteBehind:BatchSize"] = "10" }, repository: repository);
        var client = api.CreateClient();
        var prefix = NewUsername()[..10];
        for (var i = 0; i < 100; i++)
            await QueueAsync(client, $"{prefix}{i:D3}", "drain");

        // The flusher is held inside its first batch when the host begins to stop; then it may go on.
        var stopping = api.DisposeAsync().AsTask();
        held.SetResult();
        await stopping.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

        Assert.Equal(100, await UsersDatabaseFile.CountAsync(Data, prefix));
    }

    [Fact]
    public async Task WarmingAtStartPutsTheMostActiveUsersInTheCacheWithTimeToLive()
    {
        var api = Start(settings: new() { ["Warming:OnStartup"] = "true", ["Warming:TopUsers"] = "20", ["Warming:ReadyAfterWarming"] = "true" });
        var client = api.CreateClient();
        for (var attempt = 0; attempt < 200 && (await client.GetAsync("/health/ready")).StatusCode != HttpStatusCode.OK; attempt++)
            await Task.Delay(50, TestContext.Current.CancellationToken);

        var top = await api.Services.GetRequiredService<IUserRepository>().TopByLoginsAsync(20, CancellationToken.None);
        var db = api.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        foreach (var user in top)
            Assert.True(await db.KeyTimeToLiveAsync($"cf:{{user:{user.Id}}}") > TimeSpan.Zero, $"user {user.Id} is warm");
        Assert.Equal("HIT", (await client.GetAsync($"/users/{top[0].Id}")).XCache());

        var warmed = await (await api.CreateAdminClient().PostAsync("/cache/warm", null)).JsonAsync();
        Assert.Equal(20, (long)warmed["count"]!);
    }

    [Theory]
    [InlineData("POST", "/cache/warm")]
    [InlineData("DELETE", "/cache/keys/user:1")]
    [InlineData("DELETE", "/cache/tags/users:list")]
    [InlineData("DELETE", "/cache/prefixes/user:")]
    [InlineData("GET", "/cache/dead-letters")]
    [InlineData("POST", "/cache/dead-letters/requeue")]
    public async Task AdminEndpointsRefuseRequestsWithoutTheKey(string method, string path)
    {
        var api = Start();
        await (await api.CreateClient().SendAsync(new HttpRequestMessage(new HttpMethod(method), path))).ProblemAsync(HttpStatusCode.Unauthorized);
        var wrong = new HttpRequestMessage(new HttpMethod(method), path);
        wrong.Headers.Add("X-Api-Key", "not-the-key");
        await (await api.CreateClient().SendAsync(wrong)).ProblemAsync(HttpStatusCode.Unauthorized);
        Assert.True((await api.CreateAdminClient().SendAsync(new HttpRequestMessage(new HttpMethod(method), path))).IsSuccessStatusCode);
    }

    [Fact]
    public async Task AWriteWhoseBatchFailedUnexpectedlyIsTakenAgainWithoutARestart()
    {
        // An exception the batch does not handle (here a cancelled command) leaves the write taken by this flusher.
        var repository = new ScriptedRepository();
        var applies = 0;
        repository.BeforeApplyCreates = _ => Interlocked.Increment(ref applies) == 1
            ? Task.FromException(new OperationCanceledException("a command was cancelled"))
            : Task.CompletedTask;
        var client = Start(repository: repository).CreateClient();

        var status = await WaitForSettledAsync(client, await QueueAsync(client, NewUsername(), "retaken"));

        Assert.Equal("done", (string)status["status"]!);
        Assert.Equal(2, Volatile.Read(ref applies));
    }

    private ApiFactory Start(string? redis = null, Dictionary<string, string>? settings = null, ScriptedRepository? repository = null) =>
        _hosts.Start(redis, settings, repository);

    private static string NewUsername() => "u" + Guid.NewGuid().ToString("N")[..16];

    private static async Task<string> QueueAsync(HttpClient client, string username, string note) =>
        (string)(await (await client.PostAsJsonAsync("/users/async", new { username, email = $"{username}.{note}@example.com" })).JsonAsync(HttpStatusCode.Accepted))["status_url"]!;

    private static Task<JsonNode> WaitForSettledAsync(HttpClient client, string statusUrl) => WaitForStatusAsync(client, statusUrl, "done", "failed");

    private static async Task<JsonNode> WaitForStatusAsync(HttpClient client, string statusUrl, params string[] states)
    {
        for (var attempt = 0; attempt < 600; attempt++)
        {
            var status = await (await client.GetAsync(statusUrl)).JsonAsync();
            if (states.Contains((string)status["status"]!))
                return status;
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        throw new Xunit.Sdk.XunitException($"{statusUrl} never reached {string.Join(" or ", states)}");
    }
}
