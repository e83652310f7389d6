using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using CacheFlow.Testing;

namespace CacheFlow.Api.Tests;

/// <summary>
/// Property 10 for the database: with the users table locked by another client (PostgreSQL: <c>LOCK TABLE users IN
/// ACCESS EXCLUSIVE MODE</c> in a second connection; SQLite: a second connection holding <c>BEGIN EXCLUSIVE</c>), under
/// a bounded mixed load, cached reads stay 200 <c>HIT</c>, uncached reads and PATCHes answer 503 with Retry-After
/// within the budget (<c>Database:Timeout</c>, 1 s here), and no PATCH answered 503 is applied once the lock is
/// released. Latencies go to the test output, not into assertions. Control: with the budget effectively off, an
/// uncached read is still waiting when the lock is released. And write-behind waits out a lock on its writes longer
/// than its retries without spending an attempt.
/// </summary>
public abstract class DatabaseLockTests : IAsyncLifetime
{
    private const int CachedUsers = 8;
    private const int PatchedUsers = 20;
    private const int RequestsPerWorker = 500;
    private static readonly TimeSpan Load = TimeSpan.FromSeconds(3);

    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("cacheflow-lock-");
    private ApiFactory? _api;
    private (TestDatabase Database, string? Redis)? _servers;

    /// <summary>The database and the Redis (null: the embedded Garnet); null if a server is missing.</summary>
    protected abstract Task<(TestDatabase Database, string? Redis)?> StartServersAsync(DirectoryInfo data);

    protected abstract void Unavailable();

    public async ValueTask InitializeAsync() => _servers = await StartServersAsync(_data);

    public virtual async ValueTask DisposeAsync()
    {
        if (_api is not null)
            await _api.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _data.Delete(recursive: true);
    }

    [Fact]
    public async Task WhileUsersAreLockedCachedReadsHitTheRestAnswers503WithinTheBudgetAndNoRefusedPatchIsAppliedLater()
    {
        var (database, client) = Start("00:00:01");
        for (var id = 1; id <= CachedUsers; id++)
        {
            await (await client.GetAsync($"/users/{id}")).JsonAsync();
            Assert.Equal("HIT", (await client.GetAsync($"/users/{id}")).XCache());
        }

        List<Call> calls;
        await using (await database.LockUsersAsync())
        {
            var started = Stopwatch.GetTimestamp();
            var workers = new[] { "cached", "cached", "uncached", "uncached", "patch", "patch" }.Select((kind, worker) => Task.Run(async () =>
            {
                var made = new List<Call>();
                for (var i = 0; i < RequestsPerWorker && Stopwatch.GetElapsedTime(started) < Load; i++)
                    made.Add(await CallAsync(client, kind, worker, i));
                return made;
            }));
            // Every request has been answered before the lock goes: none can slip through as it is released.
            calls = [.. (await Task.WhenAll(workers).WaitAsync(TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken)).SelectMany(c => c)];
            var ready = await client.GetAsync("/health/ready");
            TestContext.Current.TestOutputHelper?.WriteLine($"{database.Kind}, users locked: /health/ready {(int)ready.StatusCode} {await ready.Content.ReadAsStringAsync()}");
        }

        var output = TestContext.Current.TestOutputHelper;
        foreach (var kind in calls.GroupBy(c => c.Kind))
        {
            var ms = kind.Select(c => c.Milliseconds).Order().ToList();
            output?.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{database.Kind}, users locked: {kind.Key} {ms.Count} requests, {string.Join(", ", kind.GroupBy(c => (int)c.Status).Select(g => $"{g.Count()} x {g.Key}"))}; p50 {ms[ms.Count / 2]:F1} ms, p99 {ms[(int)(ms.Count * 0.99)]:F1} ms, max {ms[^1]:F1} ms"));
        }

        Assert.All(calls.Where(c => c.Kind == "cached"), c => Assert.Equal((HttpStatusCode.OK, "HIT"), (c.Status, c.XCache)));
        Assert.All(calls.Where(c => c.Kind != "cached"), c =>
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, c.Status);
            Assert.Equal("application/problem+json", c.MediaType);
            Assert.True(c.RetryAfter > TimeSpan.Zero, "Retry-After");
        });
        Assert.Contains(calls, c => c.Kind == "patch");
        Assert.Contains(calls, c => c.Kind == "uncached");

        // Released: a PATCH refused while it waited must not run now. Any that did would show within a moment.
        await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
        var emails = await database.ColumnAsync($"SELECT email FROM users WHERE id > {CachedUsers} AND id <= {CachedUsers + PatchedUsers} ORDER BY id");
        Assert.Equal(Enumerable.Range(CachedUsers + 1, PatchedUsers).Select(id => $"user{id:D5}@example.com"), emails);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/users/{CachedUsers + PatchedUsers + 1}")).StatusCode);
    }

    [Fact]
    public async Task ControlWithTheBudgetEffectivelyOffAnUncachedReadIsStillWaitingWhenTheLockIsReleased()
    {
        var (database, client) = Start("00:10:00");

        Task<HttpResponseMessage> read;
        await using (await database.LockUsersAsync())
        {
            read = client.GetAsync($"/users/{CachedUsers + 1}");
            // Three times the budget of the test above: with it, the read would have been answered 503 by now.
            await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(3), TestContext.Current.CancellationToken));
            Assert.False(read.IsCompleted, "the read was answered while the table was locked");
        }

        Assert.Equal(HttpStatusCode.OK, (await read.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken)).StatusCode);
    }

    /// <remarks>
    /// Its control is run by hand (there is no switch for it): with the flusher spending an attempt on a budget that
    /// ran out, as it did on any failure while the database answered a ping, the write is dead-lettered after its two
    /// attempts and this test fails on both databases.
    /// </remarks>
    [Fact]
    public async Task AQueuedCreateWaitingOutALockLongerThanItsRetriesSpendsNoAttemptAndIsAppliedOnceTheLockGoes()
    {
        var applies = 0;
        var repository = new ScriptedRepository
        {
            BeforeApplyCreates = _ =>
            {
                Interlocked.Increment(ref applies);
                return Task.CompletedTask;
            },
        };
        // Two attempts 50 ms apart: were waiting on the lock to spend attempts, the write would be dead-lettered.
        var (database, client) = Start("00:00:01", repository, new() { ["WriteBehind:MaxAttempts"] = "2", ["WriteBehind:RetryBaseDelay"] = "00:00:00.050" });

        string statusUrl;
        await using (await database.HoldWritesAsync())
        {
            var accepted = await client.PostAsJsonAsync("/users/async", new { username = "waits_out", email = "waits-out@example.com" });
            statusUrl = (string)(await accepted.JsonAsync(HttpStatusCode.Accepted))["status_url"]!;
            await Eventually.TrueAsync(async () => Volatile.Read(ref applies) >= 3, "the flusher tried the write three times");
            var pending = await (await client.GetAsync(statusUrl)).JsonAsync();
            Assert.Equal(("pending", 0), ((string)pending["status"]!, (int)pending["attempts"]!));
        }

        await Eventually.TrueAsync(async () => (string)(await (await client.GetAsync(statusUrl)).JsonAsync())["status"]! != "pending", "the write was settled");
        var done = await (await client.GetAsync(statusUrl)).JsonAsync();
        Assert.Equal("done", (string)done["status"]!);
        Assert.Equal(1, await database.ScalarAsync("SELECT COUNT(*) FROM users WHERE username = 'waits_out'"));
    }

    private (TestDatabase Database, HttpClient Client) Start(string budget, ScriptedRepository? repository = null, Dictionary<string, string>? settings = null)
    {
        if (_servers is not var (database, redis))
        {
            Unavailable();
            throw new InvalidOperationException("unreachable");
        }

        var all = new Dictionary<string, string>(database.Settings) { ["Database:Timeout"] = budget };
        foreach (var (key, value) in settings ?? [])
            all[key] = value;
        _api = new ApiFactory(_data.FullName, redis, settings: all, repository: repository);
        return (database, _api.CreateClient());
    }

    private static async Task<Call> CallAsync(HttpClient client, string kind, int worker, int i)
    {
        var started = Stopwatch.GetTimestamp();
        using var response = kind switch
        {
            "cached" => await client.GetAsync($"/users/{1 + (i % CachedUsers)}"),
            "uncached" => await client.GetAsync($"/users/{CachedUsers + PatchedUsers + 1 + (i % 20)}"),
            _ => await client.PatchAsJsonAsync($"/users/{CachedUsers + 1 + (i % PatchedUsers)}", new { email = $"locked-{worker}-{i}@example.com" }),
        };
        await response.Content.ReadAsStringAsync();
        return new Call(kind, response.StatusCode, response.XCache(), response.Content.Headers.ContentType?.MediaType, response.Headers.RetryAfter?.Delta,
            Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private sealed record Call(string Kind, HttpStatusCode Status, string XCache, string? MediaType, TimeSpan? RetryAfter, double Milliseconds);
}

/// <summary>On SQLite (a second connection holding BEGIN EXCLUSIVE) with the embedded Garnet.</summary>
public sealed class SqliteDatabaseLockTests : DatabaseLockTests
{
    protected override Task<(TestDatabase Database, string? Redis)?> StartServersAsync(DirectoryInfo data) =>
        Task.FromResult<(TestDatabase, string?)?>((new SqliteTestDatabase(data), null));

    protected override void Unavailable()
    {
    }
}

/// <summary>On PostgreSQL (LOCK TABLE in a second connection) with a throwaway redis-server.</summary>
public sealed class PostgresDatabaseLockTests(PostgresFixture postgres) : DatabaseLockTests, IClassFixture<PostgresFixture>
{
    private RedisServer? _redis;

    protected override async Task<(TestDatabase Database, string? Redis)?> StartServersAsync(DirectoryInfo data)
    {
        if (RedisServer.Binary is null || postgres.Server is null)
            return null;
        _redis = await RedisServer.StartAsync();
        return (await PostgresTestDatabase.CreateAsync(postgres.Server), _redis.Configuration);
    }

    protected override void Unavailable() =>
        ServerRequirement.Unavailable("redis-server and PostgreSQL are not both installed (apt-get install redis-server postgresql)");

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (_redis is not null)
            await _redis.DisposeAsync();
    }
}
