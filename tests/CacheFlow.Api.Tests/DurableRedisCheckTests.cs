using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CacheFlow.Api.Data;
using CacheFlow.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace CacheFlow.Api.Tests;

/// <summary>
/// Property 8, its second half: durable data only on a Redis that cannot lose it, checked at start, when the
/// connection comes back and every <c>DurableData:CheckInterval</c>, on real redis-servers configured each way. A
/// configuration that can lose accepted writes fails the start with an error that names the setting to change,
/// unless <c>DurableData:AllowDataLoss</c> accepts it (then <c>/health/ready</c> says Degraded and the log says so);
/// found later, durable writes go to the database. Each refusal's control is a configuration, or the opt-in, that
/// lets the same API start or queue.
/// </summary>
public sealed class DurableRedisCheckTests : IAsyncDisposable
{
    private const int LoginUser = 3;
    private readonly TestResources _resources = new("cacheflow-durable-check-");

    public ValueTask DisposeAsync() => _resources.DisposeAsync();

    [Theory]
    [InlineData("32mb", "allkeys-lru", "evicts any key when full, queued writes and login counts among them (maxmemory 33554432, maxmemory-policy allkeys-lru)")]
    [InlineData("32mb", "volatile-lru", "evicts keys that have a time to live when full, and write statuses have one (maxmemory 33554432, maxmemory-policy volatile-lru)")]
    [InlineData("32mb", "noeviction", null)]
    [InlineData("0", "allkeys-lru", null)]
    public async Task ARedisThatEvictsIsRefusedAtStartAndTheErrorNamesTheSetting(string maxMemory, string policy, string? problem)
    {
        var redis = await _resources.RedisAsync("--maxmemory", maxMemory, "--maxmemory-policy", policy);

        var api = Api(redis.Configuration);
        if (problem is null)
        {
            // The controls: no eviction, or no limit to evict at, starts; readiness says what was checked.
            var durable = await DurableHealthAsync(api, HttpStatusCode.OK);
            Assert.Equal("Healthy", (string)durable["status"]!);
            Assert.Contains($"maxmemory-policy {policy}, appendonly yes, appendfsync everysec", (string)durable["description"]!, StringComparison.Ordinal);
            return;
        }

        var error = StartFailure(api);
        Assert.Contains($"{redis.Configuration} {problem}: set maxmemory-policy noeviction there, or maxmemory 0", error, StringComparison.Ordinal);
        Assert.Contains("Or give durable data a Redis of its own with ConnectionStrings:DurableRedis", error, StringComparison.Ordinal);
        Assert.Contains("set DurableData:AllowDataLoss=true", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryPrimaryOfAClusterIsCheckedAndTheOneThatEvictsIsNamed()
    {
        if (!RedisCluster.Available)
        {
            ServerRequirement.Unavailable("redis-server and redis-cli are not installed (apt-get install redis-server)");
            return;
        }

        var cluster = await RedisCluster.StartAsync();
        _resources.Track(cluster);
        // The control: as the cluster starts, every primary keeps every key, and readiness lists all three.
        var durable = (string)(await DurableHealthAsync(Api(cluster.Configuration), HttpStatusCode.OK))["description"]!;
        Assert.All(cluster.Ports, port => Assert.Contains($"127.0.0.1:{port} (redis ", durable, StringComparison.Ordinal));

        await using (var admin = cluster.Connect())
            await admin.GetServer("127.0.0.1", cluster.Ports[1]).ConfigSetAsync("maxmemory-policy", "allkeys-lru");

        var error = StartFailure(Api(cluster.Configuration));
        Assert.Contains($"127.0.0.1:{cluster.Ports[1]} evicts any key when full", error, StringComparison.Ordinal);
        Assert.DoesNotContain($"127.0.0.1:{cluster.Ports[0]} evicts", error, StringComparison.Ordinal);
        Assert.DoesNotContain($"127.0.0.1:{cluster.Ports[2]} evicts", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARedisWithoutAnAppendOnlyFileIsRefusedAtStart()
    {
        var redis = await _resources.RedisAsync("--appendonly", "no");

        var error = StartFailure(Api(redis.Configuration));

        Assert.Contains($"{redis.Configuration} has appendonly no, so a restart loses every write since its last snapshot: set appendonly yes there", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARedisThatRefusesConfigIsRefusedAtStartUnlessOptedInThenReadinessIsDegradedAndTheLogSaysSo()
    {
        var redis = await _resources.RedisAsync("--rename-command", "CONFIG", "");

        var error = StartFailure(Api(redis.Configuration));
        Assert.Contains("cannot be verified to keep them", error, StringComparison.Ordinal);
        Assert.Contains($"{redis.Configuration} refused to report its configuration (ERR unknown command 'CONFIG'", error, StringComparison.Ordinal);

        var logs = new CapturingLoggerProvider();
        var optedIn = Api(redis.Configuration, logs, new() { ["DurableData:AllowDataLoss"] = "true" });
        var durable = await DurableHealthAsync(optedIn, HttpStatusCode.OK);
        Assert.Equal("Degraded", (string)durable["status"]!);
        Assert.Contains("DurableData:AllowDataLoss=true accepts losing writes", (string)durable["description"]!, StringComparison.Ordinal);
        Assert.Contains(logs.Entries, e => e.EventId == 2142 && e.Level == LogLevel.Warning && e.Message.Contains("refused to report its configuration", StringComparison.Ordinal));
        Assert.Contains(logs.Entries, e => e.EventId == 2001 && e.Message.Contains("CAN LOSE accepted writes (accepted by DurableData:AllowDataLoss=true)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OptedInAnEvictingRedisStartsDegradedTheLogSaysSoAndWritesAreQueuedThere()
    {
        var redis = await _resources.RedisAsync("--maxmemory", "32mb", "--maxmemory-policy", "allkeys-lru");
        var logs = new CapturingLoggerProvider();

        var api = Api(redis.Configuration, logs, new() { ["DurableData:AllowDataLoss"] = "true" });

        Assert.Equal("Degraded", (string)(await DurableHealthAsync(api, HttpStatusCode.OK))["status"]!);
        Assert.Contains(logs.Entries, e => e.EventId == 2142 && e.Message.Contains("maxmemory-policy allkeys-lru", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Accepted, await CreateBehindAsync(api, "optedin"));
    }

    [Fact]
    public async Task WhenARedisIsReconfiguredToEvictDurableWritesGoToTheDatabaseUntilItIsFixed() =>
        await ReconfigureAsync(allowDataLoss: false);

    [Fact]
    public async Task ControlOptedInDurableWritesAreStillQueuedOnTheReconfiguredRedis() =>
        await ReconfigureAsync(allowDataLoss: true);

    [Theory]
    [InlineData("noeviction", false, HttpStatusCode.Accepted)]
    [InlineData("allkeys-lru", false, HttpStatusCode.Created)]
    [InlineData("allkeys-lru", true, HttpStatusCode.Accepted)]
    public async Task ARedisDownAtStartDoesNotStopTheApiAndIsCheckedWhenItComesUp(string policy, bool allowDataLoss, HttpStatusCode create)
    {
        if (RedisServer.Binary is null)
        {
            ServerRequirement.Unavailable("redis-server is not installed (apt-get install redis-server)");
            return;
        }

        var port = ServerProcess.FreeLoopbackPort();
        var logs = new CapturingLoggerProvider();
        var api = Api($"127.0.0.1:{port}", logs, new() { ["DurableData:AllowDataLoss"] = allowDataLoss ? "true" : "false" });

        var client = api.CreateClient();
        Assert.Equal("BYPASS", (await client.GetAsync("/users/1", TestContext.Current.CancellationToken)).XCache());
        Assert.Contains(logs.Entries, e => e.EventId == 2001 && e.Message.Contains("not checked", StringComparison.Ordinal));
        Assert.Contains(logs.Entries, e => e.EventId == 2143);
        Assert.Equal(HttpStatusCode.Created, await CreateBehindAsync(api, "down"));

        await _resources.RedisAsync(port, "--maxmemory", "32mb", "--maxmemory-policy", policy);
        // The connection restored, the check runs (the interval is a minute: it is not what finds it here).
        await WaitForLogAsync(logs, policy == "noeviction" ? 2144 : allowDataLoss ? 2142 : 2141);
        // Redis answers the cache again once the breaker the failures at start opened has closed.
        await Eventually.TrueAsync(async () => (await client.GetAsync("/users/2", TestContext.Current.CancellationToken)).XCache() != "BYPASS", "a read that is not BYPASS");
        Assert.Equal(create, await CreateBehindAsync(api, "up"));
    }

    /// <summary>
    /// A safe Redis takes the durable writes; then CONFIG SET makes it evict. Found by the periodic check (an interval
    /// of 200 ms here): an error is logged, readiness fails, creates are 201 (in the database) and logins are counted in
    /// the database, not in Redis; set back, it is found safe and queues again. Opted in, only a warning changes.
    /// </summary>
    private async Task ReconfigureAsync(bool allowDataLoss)
    {
        var ct = TestContext.Current.CancellationToken;
        var redis = await _resources.RedisAsync();
        var logs = new CapturingLoggerProvider();
        var api = Api(redis.Configuration, logs, new()
        {
            ["DurableData:AllowDataLoss"] = allowDataLoss ? "true" : "false",
            ["DurableData:CheckInterval"] = "00:00:00.200",
        });
        var client = api.CreateClient();
        var users = api.Services.GetRequiredService<IUserRepository>();
        await using var admin = redis.Connect();
        var server = admin.GetServer(redis.Configuration);
        var db = admin.GetDatabase();
        RedisKey pendingLogins = "cf:durable:{wb:logins}:pending", batches = "cf:durable:{wb:logins}:batches", board = "cf:durable:{wb:logins}:board";

        Assert.Equal(HttpStatusCode.Accepted, await CreateBehindAsync(api, "before"));
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/users/{LoginUser}/logins", null, ct)).StatusCode);

        await server.ConfigSetAsync("maxmemory", "32mb");
        await server.ConfigSetAsync("maxmemory-policy", "allkeys-lru");
        await WaitForLogAsync(logs, allowDataLoss ? 2142 : 2141);

        // The flusher keeps draining what that Redis holds: once no login is pending there, log in once more. Counted
        // in Redis, the login is on the leaderboard; counted in the database instead, it is in the row at once.
        await Eventually.TrueAsync(async () => !await db.KeyExistsAsync(pendingLogins) && await db.SortedSetLengthAsync(batches) == 0, "logins flushed");
        var loginsBefore = (await users.GetAsync(LoginUser, ct))!.LoginCount;
        var scoreBefore = await db.SortedSetScoreAsync(board, LoginUser);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/users/{LoginUser}/logins", null, ct)).StatusCode);
        if (allowDataLoss)
        {
            Assert.Equal(HttpStatusCode.Accepted, await CreateBehindAsync(api, "during"));
            Assert.Equal(scoreBefore + 1, await db.SortedSetScoreAsync(board, LoginUser));
            Assert.Equal("Degraded", (string)(await DurableHealthAsync(api, HttpStatusCode.OK))["status"]!);
            return;
        }

        Assert.Equal(HttpStatusCode.Created, await CreateBehindAsync(api, "during"));
        Assert.Equal(scoreBefore, await db.SortedSetScoreAsync(board, LoginUser));
        Assert.Equal(loginsBefore + 1, (await users.GetAsync(LoginUser, ct))!.LoginCount);
        var durable = await DurableHealthAsync(api, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("Unhealthy", (string)durable["status"]!);
        Assert.Contains("maxmemory-policy allkeys-lru", (string)durable["description"]!, StringComparison.Ordinal);
        Assert.Contains(logs.Entries, e => e.EventId == 2141 && e.Level == LogLevel.Error
            && e.Message.Contains("set maxmemory-policy noeviction there", StringComparison.Ordinal)
            && e.Message.Contains("POST /users/async and logins go to the database", StringComparison.Ordinal));

        await server.ConfigSetAsync("maxmemory-policy", "noeviction");
        await WaitForLogAsync(logs, 2144);
        Assert.Equal(HttpStatusCode.Accepted, await CreateBehindAsync(api, "after"));
        Assert.Equal("Healthy", (string)(await DurableHealthAsync(api, HttpStatusCode.OK))["status"]!);
    }

    private ApiFactory Api(string redis, CapturingLoggerProvider? logs = null, Dictionary<string, string>? settings = null)
    {
        var api = new ApiFactory(_resources.Data.CreateSubdirectory(Guid.NewGuid().ToString("N")).FullName, redis, settings: settings, logs: logs);
        _resources.Track(api);
        return api;
    }

    /// <summary>What the host's start threw, every inner exception's message included.</summary>
    private static string StartFailure(ApiFactory api)
    {
        var failure = Record.Exception(() => api.CreateClient());
        Assert.NotNull(failure);
        var messages = new List<string>();
        for (var e = failure; e is not null; e = e.InnerException)
            messages.Add(e.Message);
        Assert.Contains(messages, m => m.StartsWith("Durable data (the write-behind queue", StringComparison.Ordinal));
        return string.Join('\n', messages);
    }

    private static async Task<JsonNode> DurableHealthAsync(ApiFactory api, HttpStatusCode status) =>
        (await (await api.CreateClient().GetAsync("/health/ready", TestContext.Current.CancellationToken)).JsonAsync(status))["checks"]!["durable_data"]!;

    private static async Task<HttpStatusCode> CreateBehindAsync(ApiFactory api, string tag)
    {
        var username = $"{tag}_{Guid.NewGuid().ToString("N")[..8]}";
        var response = await api.CreateClient().PostAsJsonAsync("/users/async", new { username, email = $"{username}@example.com" }, TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.Created, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return response.StatusCode;
    }

    private static Task WaitForLogAsync(CapturingLoggerProvider logs, int eventId) =>
        Eventually.TrueAsync(() => logs.Entries.Any(e => e.EventId == eventId), $"log event {eventId}");

    /// <summary>Polls <paramref name="done"/> until it holds; fails after 20 s (a hang detector, not a speed claim).</summary>
}
