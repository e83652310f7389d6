using System.Net;
using System.Net.Http.Json;
using CacheFlow.Testing;
using Microsoft.Data.Sqlite;

namespace CacheFlow.Api.Tests;

/// <summary>
/// Accepted writes survive a SIGKILL of the API in the middle of flushing: the API runs as a child process, is killed,
/// and is started again on the same data folder and Redis; every write is then applied exactly once. On the embedded
/// Garnet and SQLite, on redis-server and SQLite, and on redis-server and PostgreSQL.
/// </summary>
public sealed class WriteBehindCrashTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private const int Writes = 2000;

    [Fact]
    public async Task AcceptedWritesSurviveAKillOfTheApiAndItsEmbeddedGarnet() => await KillMidFlushAndRecoverAsync(redis: null, postgres: null);

    [Fact]
    public async Task AcceptedWritesSurviveAKillOfTheApiAndOfRedisWithAppendOnlyFile()
    {
        if (RedisServer.Binary is null)
        {
            ServerRequirement.Unavailable("redis-server is not installed (apt-get install redis-server)");
            return;
        }

        await WithRedisAsync(redis => KillMidFlushAndRecoverAsync(redis, postgres: null));
    }

    [Fact]
    public async Task AcceptedWritesSurviveAKillOfTheApiAndOfRedisWithAppendOnlyFileOnPostgres()
    {
        if (RedisServer.Binary is null || postgres.Server is null)
        {
            ServerRequirement.Unavailable("redis-server and PostgreSQL are not both installed (apt-get install redis-server postgresql)");
            return;
        }

        var database = await PostgresTestDatabase.CreateAsync(postgres.Server);
        await WithRedisAsync(redis => KillMidFlushAndRecoverAsync(redis, database));
    }

    private static async Task WithRedisAsync(Func<RedisServer, Task> test)
    {
        var appendOnly = Directory.CreateTempSubdirectory("cacheflow-aof-");
        try
        {
            await using var redis = await RedisServer.StartAsync(appendOnly.FullName);
            await test(redis);
        }
        finally
        {
            appendOnly.Delete(recursive: true);
        }
    }

    /// <summary>On <paramref name="redis"/> (null: the embedded Garnet) and <paramref name="postgres"/> (null: the SQLite default).</summary>
    private static async Task KillMidFlushAndRecoverAsync(RedisServer? redis, PostgresTestDatabase? postgres)
    {
        var data = Directory.CreateTempSubdirectory("cacheflow-crash-");
        var database = postgres ?? (TestDatabase)new SqliteTestDatabase(data);
        try
        {
            var settings = new Dictionary<string, string>(database.Settings)
            {
                ["Storage:DataDirectory"] = data.FullName,
                ["Storage:SeedUsers"] = "10",
                ["Warming:OnStartup"] = "false",
                ["Admin:ApiKey"] = ApiFactory.AdminKey,
                ["WriteBehind:BatchSize"] = "20",
                ["WriteBehind:FlushInterval"] = "00:00:00.050",
                ["WriteBehind:ConsumerTimeout"] = "00:00:02",
                // The restarted API flushes a thousand writes while the test polls every status: a generous timeout
                // keeps a slow status read (two cores, Garnet syncing its AOF) from being taken for a hung Redis.
                ["CacheFlow:RedisTimeout"] = "00:00:05",
            };
            if (redis is not null)
                settings["ConnectionStrings:Redis"] = redis.Configuration;
            var prefix = "c" + Guid.NewGuid().ToString("N")[..8];
            var statusUrls = new string[Writes];

            using (var api = await ApiProcess.StartAsync(settings))
            {
                await PostAsync(api, 0, Writes / 2);
                // The second half is accepted while the flusher cannot write to the database (it has taken a batch
                // and waits on the lock, or puts it back when its budget runs out and takes it again), so the kill
                // lands mid-flush however fast flushing is.
                await using (await database.HoldWritesAsync())
                {
                    await PostAsync(api, Writes / 2, Writes - (Writes / 2));
                    api.Kill();
                }
            }

            Task PostAsync(ApiProcess api, int from, int count) =>
                Parallel.ForEachAsync(Enumerable.Range(from, count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
                {
                    var username = $"{prefix}{i:D4}";
                    var accepted = await api.Client.PostAsJsonAsync("/users/async", new { username, email = $"{username}@example.com" }, ct);
                    statusUrls[i] = (string)(await accepted.JsonAsync(HttpStatusCode.Accepted))["status_url"]!;
                });

            var count = $"SELECT COUNT(*) FROM users WHERE username LIKE '{prefix}%'";
            var appliedWhenKilled = await database.ScalarAsync(count);
            Assert.True(appliedWhenKilled < Writes, "the API was killed before it had flushed everything");
            if (redis is not null)
                await redis.RestartAsync();

            using var restarted = await ApiProcess.StartAsync(settings);
            for (var attempt = 0; attempt < 1200 && await database.ScalarAsync(count) < Writes; attempt++)
                await Task.Delay(100, TestContext.Current.CancellationToken);

            Assert.Equal(Writes, await database.ScalarAsync(count));
            // A batch's rows are committed before its statuses say done: the last statuses may trail the count.
            await Parallel.ForEachAsync(statusUrls, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (url, ct) =>
            {
                var status = "pending";
                for (var attempt = 0; attempt < 200 && status == "pending"; attempt++)
                {
                    if (attempt > 0)
                        await Task.Delay(50, ct);
                    status = (string)(await (await restarted.Client.GetAsync(url, ct)).JsonAsync())["status"]!;
                }

                Assert.Equal("done", status);
            });
            var admin = new HttpRequestMessage(HttpMethod.Get, "/cache/dead-letters");
            admin.Headers.Add("X-Api-Key", ApiFactory.AdminKey);
            Assert.Empty((await (await restarted.Client.SendAsync(admin)).JsonAsync()).AsArray());
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            data.Delete(recursive: true);
        }
    }
}
