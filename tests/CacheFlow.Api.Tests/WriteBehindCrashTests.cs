using System.Net;
using System.Net.Http.Json;
using CacheFlow.Testing;
using Microsoft.Data.Sqlite;

namespace CacheFlow.Api.Tests;

/// <summary>
/// Accepted writes survive a SIGKILL of the API in the middle of flushing: the API runs as a child process, is killed,
/// and is started again on the same data folder and Redis; every write is then applied exactly once.
/// </summary>
public sealed class WriteBehindCrashTests
{
    private const int Writes = 2000;

    [Fact]
    public async Task AcceptedWritesSurviveAKillOfTheApiAndItsEmbeddedGarnet() => await KillMidFlushAndRecoverAsync(redis: null);

    [Fact]
    public async Task AcceptedWritesSurviveAKillOfTheApiAndOfRedisWithAppendOnlyFile()
    {
        if (RedisServer.Binary is null)
        {
            ServerRequirement.Unavailable("redis-server is not installed (apt-get install redis-server)");
            return;
        }

        var appendOnly = Directory.CreateTempSubdirectory("cacheflow-aof-");
        try
        {
            await using var redis = await RedisServer.StartAsync(appendOnly.FullName);
            await KillMidFlushAndRecoverAsync(redis);
        }
        finally
        {
            appendOnly.Delete(recursive: true);
        }
    }

    private static async Task KillMidFlushAndRecoverAsync(RedisServer? redis)
    {
        var data = Directory.CreateTempSubdirectory("cacheflow-crash-");
        try
        {
            var settings = new Dictionary<string, string>
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
                // and waits on the lock), so the kill lands mid-flush however fast flushing is.
                await using (await UsersDatabaseFile.HoldWritesAsync(data))
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

            var appliedWhenKilled = await UsersDatabaseFile.CountAsync(data, prefix);
            Assert.True(appliedWhenKilled < Writes, "the API was killed before it had flushed everything");
            if (redis is not null)
                await redis.RestartAsync();

            using var restarted = await ApiProcess.StartAsync(settings);
            for (var attempt = 0; attempt < 1200 && await UsersDatabaseFile.CountAsync(data, prefix) < Writes; attempt++)
                await Task.Delay(100, TestContext.Current.CancellationToken);

            Assert.Equal(Writes, await UsersDatabaseFile.CountAsync(data, prefix));
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
