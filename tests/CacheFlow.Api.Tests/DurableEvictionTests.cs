using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using CacheFlow.Api.Data;
using CacheFlow.Api.Redis;
using CacheFlow.Testing;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace CacheFlow.Api.Tests;

/// <summary>
/// A cache Redis configured as caches are (<c>maxmemory 32mb</c>, <c>allkeys-lru</c>) filled past its memory by
/// another client while the write-behind queue is idle (the flusher held at a gate in the repository) with 200 creates
/// accepted and 500 logins acknowledged. With durable data on a Redis of its own (<c>ConnectionStrings:DurableRedis</c>,
/// no eviction, an append-only file) every status URL answers, and once the flusher is let go every create and every
/// login is in PostgreSQL. The control keeps durable data on the evicting Redis, the check opted out
/// (<c>DurableData:AllowDataLoss</c>), and loses them.
/// </summary>
public sealed class DurableEvictionTests(PostgresFixture postgres, ITestOutputHelper output) : IClassFixture<PostgresFixture>, IAsyncDisposable
{
    private const int Creates = 200;
    private const int Logins = 500;
    private const int LoginUsers = 10;
    private const int FillValue = 4096;

    // Three times the cache Redis's maxmemory in fresh keys: the least recently used keys are evicted many times over.
    private const int FillValues = 3 * 32 * 1024 * 1024 / FillValue;

    private readonly TestResources _resources = new("cacheflow-eviction-");

    private sealed record Outcome(long Evicted, int StatusesAnswered, int Created, long LoginsCounted, int StatusesDone);

    public ValueTask DisposeAsync() => _resources.DisposeAsync();

    [Fact]
    public async Task WithDurableDataOnARedisOfItsOwnAnEvictingCacheRedisLosesNoAcceptedWriteOrLogin()
    {
        var outcome = await FillWhileIdleAsync(ownRedis: true);

        Assert.True(outcome.Evicted > 0, "the fill did not reach the cache Redis's maxmemory");
        Assert.Equal(new Outcome(outcome.Evicted, Creates, Creates, Logins, Creates), outcome);
    }

    [Fact]
    public async Task ControlWithDurableDataOnTheEvictingRedisAndTheCheckOptedOutWritesAreLost()
    {
        var outcome = await FillWhileIdleAsync(ownRedis: false);

        Assert.True(outcome.Evicted > 0, "the fill did not reach the cache Redis's maxmemory");
        Assert.True(outcome.Created < Creates && outcome.LoginsCounted < Logins && outcome.StatusesAnswered < Creates, $"nothing was lost: {outcome}");
    }

    private async Task<Outcome> FillWhileIdleAsync(bool ownRedis)
    {
        var ct = TestContext.Current.CancellationToken;
        if (RedisServer.Binary is null || postgres.Server is null)
            ServerRequirement.Unavailable("redis-server and PostgreSQL are not both installed (apt-get install redis-server postgresql)");
        var cacheRedis = await _resources.RedisAsync("--maxmemory", "32mb", "--maxmemory-policy", "allkeys-lru");
        var settings = ownRedis
            ? new Dictionary<string, string> { ["ConnectionStrings:DurableRedis"] = (await _resources.RedisAsync()).Configuration }
            : new Dictionary<string, string> { ["DurableData:AllowDataLoss"] = "true" };

        // The flusher takes the first write and waits at the gate: the queue and the login counts stay in Redis.
        var repository = new ScriptedRepository();
        var held = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        repository.BeforeApplyCreates = creates =>
        {
            held.TrySetResult(creates.Count);
            return release.Task;
        };
        repository.BeforeApplyLogins = _ => release.Task;
        var api = new ApiFactory(_resources.Data.CreateSubdirectory(ownRedis ? "own" : "shared").FullName, cacheRedis.Configuration,
            await postgres.Server!.CreateDatabaseAsync(), settings, repository);
        _resources.Track(api);
        try
        {
            var client = api.CreateClient();
            var users = api.Services.GetRequiredService<IUserRepository>();
            var prefix = "e" + Guid.NewGuid().ToString("N")[..8];
            var accepted = new List<(string Username, string StatusUrl)>();
            var heldCount = 0;
            for (var i = 0; i < Creates; i++)
            {
                var username = $"{prefix}{i:D3}";
                var response = await client.PostAsJsonAsync("/users/async", new { username, email = $"{username}@example.com" }, ct);
                accepted.Add((username, (string)(await response.JsonAsync(HttpStatusCode.Accepted))["status_url"]!));
                if (i == 0)
                    heldCount = await held.Task.WaitAsync(TimeSpan.FromSeconds(20), ct);
            }

            var before = new long[LoginUsers + 1];
            for (var id = 1; id <= LoginUsers; id++)
                before[id] = (await users.GetAsync(id, ct))!.LoginCount;
            for (var i = 0; i < Logins; i++)
                Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/users/{1 + (i % LoginUsers)}/logins", null, ct)).StatusCode);

            var evicted = await FillAsync(cacheRedis);
            var answered = 0;
            foreach (var (_, statusUrl) in accepted)
                answered += (await client.GetAsync(statusUrl, ct)).StatusCode == HttpStatusCode.OK ? 1 : 0;

            release.SetResult();
            await WaitUntilSettledAsync(api.Services.GetRequiredService<DurableRedis>().Connection, repository, heldCount);
            var created = 0;
            foreach (var (username, _) in accepted)
                created += await users.FindClashAsync(username, $"{username}@example.com", ct) is null ? 0 : 1;
            long counted = 0;
            for (var id = 1; id <= LoginUsers; id++)
                counted += (await users.GetAsync(id, ct))!.LoginCount - before[id];
            var done = 0;
            foreach (var (_, statusUrl) in accepted)
            {
                var status = await client.GetAsync(statusUrl, ct);
                done += status.StatusCode == HttpStatusCode.OK && (string)(await status.JsonAsync())["status"]! == "done" ? 1 : 0;
            }

            var outcome = new Outcome(evicted, answered, created, counted, done);
            output.WriteLine($"durable data {(ownRedis ? "on a Redis of its own" : "on the evicting cache Redis, check opted out")}: {FillValues:N0} values of {FillValue} B written to "
                + $"the cache Redis, {evicted:N0} keys evicted; {answered}/{Creates} status URLs answered while idle; after the flush {created}/{Creates} creates "
                + $"and {counted}/{Logins} logins in PostgreSQL, {done}/{Creates} statuses done ({heldCount} write(s) were in the flusher's hands)");
            return outcome;
        }
        finally
        {
            release.TrySetResult();
        }
    }

    /// <summary>
    /// Fills the cache Redis from another client, once its LRU clock has moved past every key written so far; returns
    /// how many keys it has evicted. Redis's LRU clock counts whole seconds, and keys of the same second are evicted in
    /// any order: in a CI run without this wait, 15 of 200 status keys and the login counts outlived the fill.
    /// </summary>
    private static async Task<long> FillAsync(RedisServer redis)
    {
        await using var filler = redis.Connect();
        var db = filler.GetDatabase();
        await db.StringSetAsync("fill:mark", 1);
        var started = Stopwatch.GetTimestamp();
        while (await db.KeyIdleTimeAsync("fill:mark") is not { TotalSeconds: >= 1 })
        {
            Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(10), "the cache Redis's LRU clock did not move within 10 s");
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        var value = new byte[FillValue];
        Random.Shared.NextBytes(value);
        for (var batch = 0; batch < FillValues; batch += 500)
            await Task.WhenAll(Enumerable.Range(batch, Math.Min(500, FillValues - batch)).Select(i => db.StringSetAsync($"fill:{i}", value)));
        var stats = (await filler.GetServer(redis.Configuration).InfoAsync("stats")).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);
        return long.Parse(stats["evicted_keys"], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Waits until the flusher has nothing left: its held batch applied, and no write or login count waiting in Redis
    /// (pending, retried, taken, or a login batch not yet applied). Fails after 60 s (a hang detector).
    /// </summary>
    private static async Task WaitUntilSettledAsync(IConnectionMultiplexer durable, ScriptedRepository repository, int held)
    {
        var db = durable.GetDatabase();
        var server = durable.GetServers().Single(s => !s.IsReplica);
        const string Queue = "cf:durable:{wb:users}", LoginKeys = "cf:durable:{wb:logins}";
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            var waiting = await db.ListLengthAsync($"{Queue}:pending") + await db.SortedSetLengthAsync($"{Queue}:retry")
                + await db.SortedSetLengthAsync($"{LoginKeys}:batches") + (await db.KeyExistsAsync($"{LoginKeys}:pending") ? 1 : 0);
            await foreach (var processing in server.KeysAsync(pattern: $"{Queue}:processing:*"))
                waiting += await db.ListLengthAsync(processing);
            if (waiting == 0 && repository.CreatesApplied >= held)
                return;
            Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(60), $"the flusher did not settle within 60 s ({waiting} waiting)");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

}
