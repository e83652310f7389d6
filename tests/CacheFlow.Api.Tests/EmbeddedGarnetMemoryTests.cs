using CacheFlow.Api.Redis;
using CacheFlow.Garnet;
using StackExchange.Redis;

namespace CacheFlow.Api.Tests;

/// <summary>
/// The embedded Garnet keeps durable data past its memory: with its storage tier (as the API starts it), records past
/// <c>--memory</c> move to disk and stay readable, and the check of the Redis that holds durable data finds it safe.
/// The control starts the same server without the storage tier, as it was started before: the oldest records are
/// dropped (a status, the queue, the leaderboard, the pending login counts) and the check finds it unsafe. A small
/// memory (32 MB in 4 MB pages, not the API's 256 MB) keeps the fill short; the options are otherwise the API's.
/// </summary>
public sealed class EmbeddedGarnetMemoryTests
{
    private const int FillValue = 4096;

    // Twice the log's memory in fresh keys.
    private const int FillValues = 2 * 32 * 1024 * 1024 / FillValue;

    private static readonly (RedisKey Key, string Shape)[] Durable =
    [
        ("cf:durable:{wb:users}:status:1", "string with a TTL"),
        ("cf:durable:{wb:users}:pending", "list"),
        ("cf:durable:{wb:logins}:board", "sorted set"),
        ("cf:durable:{wb:logins}:pending", "hash"),
    ];

    [Fact]
    public async Task PastItsMemoryTheEmbeddedGarnetKeepsEveryDurableRecordAndIsCheckedSafe()
    {
        var (kept, verdict) = await FillAsync(storageTier: true);

        Assert.Equal(DurableRedisState.Safe, verdict.State);
        Assert.Equal(Durable.Select(d => d.Shape), kept);
    }

    [Fact]
    public async Task ControlWithoutItsStorageTierGarnetDropsTheOldestRecordsAndIsCheckedUnsafe()
    {
        var (kept, verdict) = await FillAsync(storageTier: false);

        Assert.Equal(DurableRedisState.Unsafe, verdict.State);
        Assert.Contains(verdict.Problems, p => p.Contains("without a storage tier", StringComparison.Ordinal));
        Assert.True(kept.Count < Durable.Length, $"every durable record survived: {string.Join(", ", kept)}");
    }

    /// <summary>Writes a record of each durable shape, then fills the server past its memory; returns the shapes still whole, and the check's verdict.</summary>
    private static async Task<(List<string> Kept, DurableRedisVerdict Verdict)> FillAsync(bool storageTier)
    {
        var directory = Directory.CreateTempSubdirectory("cacheflow-garnet-memory-");
        try
        {
            using var garnet = EmbeddedGarnet.Start(directory.FullName, memory: "32m", page: "4m", storageTier);
            await using var redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{garnet.Port},allowAdmin=true");
            var db = redis.GetDatabase();
            await db.StringSetAsync(Durable[0].Key, "pending", TimeSpan.FromHours(1));
            await db.ListRightPushAsync(Durable[1].Key, ["w1", "w2", "w3"]);
            await db.SortedSetAddAsync(Durable[2].Key, "7", 5);
            await db.HashSetAsync(Durable[3].Key, "7", 3);
            var verdict = DurableRedisInspector.Judge((await DurableRedisInspector.ReadAsync(redis, TimeSpan.FromSeconds(5)))!);

            var value = new byte[FillValue];
            Random.Shared.NextBytes(value);
            for (var batch = 0; batch < FillValues; batch += 500)
                await Task.WhenAll(Enumerable.Range(batch, Math.Min(500, FillValues - batch)).Select(i => db.StringSetAsync($"fill:{i}", value)));

            var kept = new List<string>();
            if (await db.StringGetAsync(Durable[0].Key) == "pending")
                kept.Add(Durable[0].Shape);
            if ((await db.ListRangeAsync(Durable[1].Key)).Select(v => (string)v!).SequenceEqual(["w1", "w2", "w3"]))
                kept.Add(Durable[1].Shape);
            if (await db.SortedSetScoreAsync(Durable[2].Key, "7") == 5)
                kept.Add(Durable[2].Shape);
            if (await db.HashGetAsync(Durable[3].Key, "7") == 3)
                kept.Add(Durable[3].Shape);
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"storage tier {(storageTier ? "on" : "off")}: {FillValues:N0} values of {FillValue} B written past 32 MB; {await redis.GetServers()[0].DatabaseSizeAsync():N0} keys left; "
                + $"durable records kept: {(kept.Count == 0 ? "none" : string.Join(", ", kept))}");
            return (kept, verdict);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
