using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CacheFlow.Testing;

namespace CacheFlow.Api.Tests;

/// <summary>
/// An acknowledged change is never followed by an older read, whatever happens to Redis and to the API between the
/// change and the reads: Redis killed before the PATCH and restarted from its append-only file (the old entry comes
/// back with it), and the API killed (SIGKILL) while the invalidation is still pending. The API runs as a child
/// process on a throwaway redis-server with <c>--appendonly yes</c>, on SQLite and on PostgreSQL.
/// </summary>
public abstract class InvalidationFaultTests
{
    private const int Reads = 40;

    /// <summary>The API's settings for the database under test (a new, empty one); null if its server is missing.</summary>
    protected abstract Task<IReadOnlyDictionary<string, string>?> DatabaseAsync();

    protected abstract void Unavailable();

    /// <summary>
    /// Caches user 5, kills Redis, renames the user (acknowledged), optionally kills the API too, restarts Redis from
    /// its AOF, starts the API again if it was killed, then reads the user <see cref="Reads"/> times. Returns the
    /// usernames read and the original one.
    /// </summary>
    private async Task<(List<string> Read, string Original)> ReadsAfterAChangeDuringAnOutageAsync(bool killApi, bool outbox)
    {
        var database = await DatabaseAsync();
        if (RedisServer.Binary is null || database is null)
        {
            Unavailable();
            throw new InvalidOperationException("unreachable");
        }

        var data = Directory.CreateTempSubdirectory("cacheflow-inval-");
        var appendOnly = Directory.CreateTempSubdirectory("cacheflow-aof-");
        try
        {
            await using var redis = await RedisServer.StartAsync(appendOnly.FullName);
            var settings = new Dictionary<string, string>(database)
            {
                ["Storage:DataDirectory"] = data.FullName,
                ["Storage:SeedUsers"] = "10",
                ["Warming:OnStartup"] = "false",
                ["Admin:ApiKey"] = ApiFactory.AdminKey,
                ["ConnectionStrings:Redis"] = redis.Configuration,
                ["Outbox:Enabled"] = outbox ? "true" : "false",
            };
            var api = await ApiProcess.StartAsync(settings);
            try
            {
                var original = (await api.Client.GetFromJsonAsync<JsonElement>("/users/5")).GetProperty("username").GetString()!;
                Assert.Equal("HIT", XCache(await api.Client.GetAsync("/users/5")));

                redis.Kill();
                var patch = await api.Client.PatchAsJsonAsync("/users/5", new { username = "renamed5" });
                Assert.Equal(HttpStatusCode.OK, patch.StatusCode);

                if (killApi)
                    api.Kill();
                await redis.RestartAsync();
                if (killApi)
                {
                    api.Dispose();
                    api = await ApiProcess.StartAsync(settings);
                }

                var read = new List<string>();
                for (var i = 0; i < Reads; i++)
                {
                    var response = await api.Client.GetAsync("/users/5");
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    read.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("username").GetString()!);
                    await Task.Delay(50);
                }

                return (read, original);
            }
            finally
            {
                api.Dispose();
            }
        }
        finally
        {
            data.Delete(recursive: true);
            appendOnly.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task AChangeAcknowledgedWhileRedisWasDownIsNeverFollowedByTheOldValueWhenRedisComesBackFromItsAof()
    {
        var (read, _) = await ReadsAfterAChangeDuringAnOutageAsync(killApi: false, outbox: true);

        Assert.All(read, name => Assert.Equal("renamed5", name));
    }

    [Fact]
    public async Task AChangeWhoseInvalidationDiedWithTheApiIsAppliedByTheOutboxWhenTheApiStartsAgain()
    {
        var (read, _) = await ReadsAfterAChangeDuringAnOutageAsync(killApi: true, outbox: true);

        Assert.All(read, name => Assert.Equal("renamed5", name));
    }

    [Fact]
    public async Task ControlWithoutTheOutboxTheKilledApisInvalidationIsLostAndTheOldValueIsServed()
    {
        var (read, original) = await ReadsAfterAChangeDuringAnOutageAsync(killApi: true, outbox: false);

        Assert.Contains(original, read);
    }

    private static string? XCache(HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-Cache", out var values) ? values.First() : null;
}

/// <summary>On the API's SQLite default.</summary>
public sealed class SqliteInvalidationFaultTests : InvalidationFaultTests
{
    protected override Task<IReadOnlyDictionary<string, string>?> DatabaseAsync() =>
        Task.FromResult<IReadOnlyDictionary<string, string>?>(new Dictionary<string, string>());

    protected override void Unavailable() => ServerRequirement.Unavailable("redis-server is not installed (apt-get install redis-server)");
}

/// <summary>On a throwaway PostgreSQL.</summary>
public sealed class PostgresInvalidationFaultTests(PostgresFixture postgres) : InvalidationFaultTests, IClassFixture<PostgresFixture>
{
    protected override async Task<IReadOnlyDictionary<string, string>?> DatabaseAsync() =>
        postgres.Server is null ? null : (await PostgresTestDatabase.CreateAsync(postgres.Server)).Settings;

    protected override void Unavailable() =>
        ServerRequirement.Unavailable("redis-server and PostgreSQL are not both installed (apt-get install redis-server postgresql)");
}
