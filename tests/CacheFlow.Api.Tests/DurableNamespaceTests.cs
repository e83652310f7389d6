using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CacheFlow.Api.Data;
using CacheFlow.Api.Redis;
using CacheFlow.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CacheFlow.Api.Tests;

/// <summary>
/// Property 8: the write-behind queue, its statuses and the login counts live under the durable prefix, which no
/// removal by key, tag or prefix can reach, however its value is crafted. The flusher is held at a gate in the
/// repository so the writes stay in Redis while the admin removals run; released, every one reaches the database.
/// </summary>
public abstract class DurableNamespaceTests : IAsyncLifetime
{
    private const int HeldCreates = 4;
    private const int QueuedCreates = 8;
    private const int LoginsPerUser = 5;
    private const int LoginUsers = 4;

    private readonly ScriptedRepository _repository = new();
    private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ApiFactory? _api;

    /// <summary>Starts the API on the stack under test, with <paramref name="repository"/> around its database; null if a server is missing.</summary>
    protected abstract Task<ApiFactory?> StartAsync(ScriptedRepository repository);

    /// <summary>Skips (or in CI fails) when the stack's servers are missing.</summary>
    protected abstract void Unavailable();

    public async ValueTask InitializeAsync()
    {
        _repository.BeforeApplyCreates = _ =>
        {
            _held.TrySetResult();
            return _release.Task;
        };
        _repository.BeforeApplyLogins = _ => _release.Task;
        _api = await StartAsync(_repository);
    }

    public virtual async ValueTask DisposeAsync()
    {
        // Never leave the flusher at the gate: the host drains it on stop.
        _release.TrySetResult();
        if (_api is not null)
            await _api.DisposeAsync();
    }

    [Fact]
    public async Task AdminRemovalsWithCraftedValuesRemoveOnlyCacheEntriesAndEveryQueuedWriteAndLoginReachesTheDatabase()
    {
        if (_api is null)
        {
            Unavailable();
            return;
        }

        var ct = TestContext.Current.CancellationToken;
        var client = _api.CreateClient();
        var admin = _api.CreateAdminClient();
        var users = _api.Services.GetRequiredService<IUserRepository>();
        var options = _api.Services.GetRequiredService<IOptions<CacheFlowOptions>>().Value;
        var redis = _api.Services.GetRequiredService<IConnectionMultiplexer>();
        // The same server as the cache's on redis-server; on the embedded default a Garnet of its own.
        var durableRedis = _api.Services.GetRequiredService<DurableRedis>().Connection;

        // Cache entries to count: users 1..5, two list pages and the count of users (the last three tagged users:list).
        for (var id = 1; id <= 5; id++)
            Assert.Equal("MISS", (await client.GetAsync($"/users/{id}", ct)).XCache());
        foreach (var page in new[] { 1, 2 })
            Assert.Equal("MISS", (await client.GetAsync($"/users?page={page}&limit=5", ct)).XCache());

        // Durable data: creates taken by the held flusher (its processing list) and queued behind it, their statuses,
        // logins (pending increments and the leaderboard).
        var prefix = "d" + Guid.NewGuid().ToString("N")[..8];
        var accepted = new List<(string Username, string StatusUrl)>();
        for (var i = 0; i < HeldCreates + QueuedCreates; i++)
        {
            if (i == HeldCreates)
                await _held.Task.WaitAsync(TimeSpan.FromSeconds(10), ct);
            var username = $"{prefix}{i:D2}";
            var response = await client.PostAsJsonAsync("/users/async", new { username, email = $"{username}@example.com" }, ct);
            accepted.Add((username, (string)(await response.JsonAsync(HttpStatusCode.Accepted))["status_url"]!));
        }

        var loginsBefore = new long[LoginUsers + 1];
        for (var id = 1; id <= LoginUsers; id++)
            loginsBefore[id] = (await users.GetAsync(id, ct))!.LoginCount;
        for (var i = 0; i < LoginsPerUser * LoginUsers; i++)
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/users/{1 + (i % LoginUsers)}/logins", null, ct)).StatusCode);

        foreach (var (username, _) in accepted)
            Assert.Null(await users.FindClashAsync(username, $"{username}@example.com", ct));
        var durable = await SnapshotAsync(durableRedis, options.DurableKeyPrefix);
        Assert.Contains(durable.Keys, k => k.Contains(":processing:", StringComparison.Ordinal));
        Assert.Contains(durable.Keys, k => k.EndsWith(":pending", StringComparison.Ordinal) && k.Contains("{wb:users}", StringComparison.Ordinal));
        Assert.Contains(durable.Keys, k => k.EndsWith(":pending", StringComparison.Ordinal) && k.Contains("{wb:logins}", StringComparison.Ordinal));
        Assert.Contains(durable.Keys, k => k.EndsWith(":board", StringComparison.Ordinal));
        Assert.Equal(accepted.Count, durable.Keys.Count(k => k.Contains(":status:", StringComparison.Ordinal)));

        // Keys: the queue's names, with and without the durable prefix; user:5 is a real entry.
        foreach (var key in new[] { "wb:users}:pending", "durable:{wb:users}:pending", "{wb:logins}:board", "durable:{wb:logins}:pending", "wb:logins}:pending", "user:5" })
            Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/cache/keys/{Uri.EscapeDataString(key)}", ct)).StatusCode);
        // Tags: none of these is a cache tag but users:list, on the two pages and the count.
        foreach (var (tag, count) in new[] { ("wb:users", 0), ("{wb:users}", 0), ("wb:logins", 0), ("durable", 0), ("*", 0), ("users:list", 3) })
            Assert.Equal((tag, count), (tag, await CountAsync(admin, $"/cache/tags/{Uri.EscapeDataString(tag)}", ct)));
        // Prefixes: every start of a durable key, after the cache prefix or not; user: has users 1..4 left.
        foreach (var (keyPrefix, count) in new[]
        {
            ("w", 0), ("wb", 0), ("{", 0), ("*", 0), ("d", 0), ("durable", 0), ("durable:", 0), ("durable:{wb:", 0), (options.DurableKeyPrefix, 0), ("user:", 4),
        })
            Assert.Equal((keyPrefix, count), (keyPrefix, await CountAsync(admin, $"/cache/prefixes/{Uri.EscapeDataString(keyPrefix)}", ct)));

        Assert.Equal(durable, await SnapshotAsync(durableRedis, options.DurableKeyPrefix));
        Assert.Equal("MISS", (await client.GetAsync("/users/1", ct)).XCache());
        Assert.Equal("MISS", (await client.GetAsync("/users?page=1&limit=5", ct)).XCache());

        // Control: the queue's old home, {prefix}{wb:users}:pending, is in the cache's namespace, and the same removal
        // of the prefix wb reaches it; the queue where it lives now is untouched.
        var oldHome = (RedisKey)$"{options.KeyPrefix}{{wb:users}}:pending";
        await redis.GetDatabase().ListLeftPushAsync(oldHome, "a queued write, where the queue used to live");
        Assert.Equal(1, await CountAsync(admin, "/cache/prefixes/wb", ct));
        Assert.False(await redis.GetDatabase().KeyExistsAsync(oldHome));
        Assert.Equal(durable, await SnapshotAsync(durableRedis, options.DurableKeyPrefix));

        _release.SetResult();
        foreach (var (username, statusUrl) in accepted)
        {
            var done = await WaitUntilDoneAsync(client, statusUrl, ct);
            Assert.Equal(username, (await users.GetAsync((long)done["user_id"]!, ct))?.Username);
            Assert.Equal(username, (string)(await (await client.GetAsync((string)done["location"]!, ct)).JsonAsync())["username"]!);
        }

        var expected = Enumerable.Range(1, LoginUsers).Select(id => loginsBefore[id] + LoginsPerUser).ToArray();
        var counts = await WaitForLoginCountsAsync(users, expected, ct);
        Assert.Equal(expected, counts);
        var top = (await (await client.GetAsync("/users/top?limit=100", ct)).JsonAsync()).AsArray();
        Assert.NotEmpty(top);
        for (var id = 1; id <= LoginUsers; id++)
            Assert.Equal(expected[id - 1], (long)top.Single(u => (long)u!["id"]! == id)!["login_count"]!);
    }

    private static async Task<long> CountAsync(HttpClient admin, string path, CancellationToken ct) =>
        (long)(await (await admin.DeleteAsync(path, ct)).JsonAsync())["count"]!;

    /// <summary>Every key under the durable prefix with its type and whole value, to compare before and after.</summary>
    private static async Task<SortedDictionary<string, string>> SnapshotAsync(IConnectionMultiplexer redis, string durablePrefix)
    {
        var db = redis.GetDatabase();
        var snapshot = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var server in redis.GetServers().Where(s => !s.IsReplica))
        {
            await foreach (var key in server.KeysAsync(pattern: durablePrefix + "*", pageSize: 1000))
            {
                var type = await db.KeyTypeAsync(key);
                snapshot[key!] = type + " " + type switch
                {
                    RedisType.String => (string?)await db.StringGetAsync(key),
                    RedisType.List => string.Join(" | ", await db.ListRangeAsync(key)),
                    RedisType.Hash => string.Join(" | ", (await db.HashGetAllAsync(key)).Select(e => $"{e.Name}={e.Value}").Order(StringComparer.Ordinal)),
                    RedisType.SortedSet => string.Join(" | ", (await db.SortedSetRangeByRankWithScoresAsync(key)).Select(e => $"{e.Element}={e.Score}")),
                    RedisType.Set => string.Join(" | ", (await db.SetMembersAsync(key)).Select(m => (string)m!).Order(StringComparer.Ordinal)),
                    _ => "",
                };
            }
        }

        return snapshot;
    }

    private static async Task<JsonNode> WaitUntilDoneAsync(HttpClient client, string statusUrl, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            var status = await (await client.GetAsync(statusUrl, ct)).JsonAsync();
            if ((string)status["status"]! != "pending" || Stopwatch.GetElapsedTime(started) > TimeSpan.FromSeconds(20))
            {
                Assert.True((string)status["status"]! == "done", $"{statusUrl}: {status.ToJsonString()}");
                return status;
            }

            await Task.Delay(20, ct);
        }
    }

    private static async Task<long[]> WaitForLoginCountsAsync(IUserRepository users, long[] expected, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            var counts = new long[expected.Length];
            for (var i = 0; i < expected.Length; i++)
                counts[i] = (await users.GetAsync(i + 1, ct))!.LoginCount;
            if (counts.SequenceEqual(expected) || Stopwatch.GetElapsedTime(started) > TimeSpan.FromSeconds(20))
                return counts;
            await Task.Delay(50, ct);
        }
    }
}

/// <summary>On the embedded defaults: Garnet in-process and SQLite.</summary>
public sealed class EmbeddedDurableNamespaceTests : DurableNamespaceTests
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("cacheflow-durable-");

    protected override Task<ApiFactory?> StartAsync(ScriptedRepository repository) =>
        Task.FromResult<ApiFactory?>(new ApiFactory(_data.FullName, repository: repository));

    protected override void Unavailable()
    {
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        _data.Delete(recursive: true);
    }
}

/// <summary>On a throwaway redis-server and PostgreSQL.</summary>
public sealed class ServerDurableNamespaceTests(PostgresFixture postgres) : DurableNamespaceTests, IClassFixture<PostgresFixture>
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("cacheflow-durable-");
    private RedisServer? _redis;

    protected override async Task<ApiFactory?> StartAsync(ScriptedRepository repository)
    {
        if (RedisServer.Binary is null || postgres.Server is null)
            return null;
        _redis = await RedisServer.StartAsync();
        return new ApiFactory(_data.FullName, _redis.Configuration, await postgres.Server.CreateDatabaseAsync(), repository: repository);
    }

    protected override void Unavailable() =>
        ServerRequirement.Unavailable("redis-server and PostgreSQL are not both installed (apt-get install redis-server postgresql)");

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (_redis is not null)
            await _redis.DisposeAsync();
        _data.Delete(recursive: true);
    }
}
