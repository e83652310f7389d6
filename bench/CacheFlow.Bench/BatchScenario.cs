using System.Diagnostics;
using CacheFlow.Api.Data;
using CacheFlow.Api.Users;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;

namespace CacheFlow.Bench;

/// <summary>
/// A page of 20 users by id, in process: CacheFlow's batch (one MGET, one <c>WHERE id IN</c> for the misses) against
/// 20 single reads of CacheFlow, FusionCache and HybridCache each (sent together, the fastest way to make them). Ids
/// are uniform over every user and each pass has keys of its own, so nearly every read is a miss: the batch's case. Pages per second, 16 concurrent
/// pages, variants alternating within each repeat.
/// </summary>
public static class BatchScenario
{
    private const int PageSize = 20;
    private const int Concurrency = 16;

    public static async Task<string> RunAsync(BenchServers servers, int repeats, int seconds)
    {
        var (users, count, database) = await servers.CreateUsersAsync();
        await using var redis = await ConnectionMultiplexer.ConnectAsync(servers.Redis);
        var json = PeerCaches.Json;
        var hour = TimeSpan.FromHours(1);
        var entry = new CacheEntryOptions { Duration = hour };
        using var flow = new CacheFlowCache(redis, Options.Create(new CacheFlowOptions { KeyPrefix = "batch-cf:", SerializerOptions = json, LocalCacheEnabled = true, LocalMaxAge = hour }),
            TimeProvider.System, NullLogger<CacheFlowCache>.Instance);
        using var fusion = PeerCaches.Fusion(redis, "batch", "batch-fc:", json);
        await using var hybridServices = PeerCaches.Hybrid(redis);
        var hybrid = hybridServices.GetRequiredService<HybridCache>();
        var fusionEntry = new FusionCacheEntryOptions { Duration = hour };
        var hybridEntry = new HybridCacheEntryOptions { Expiration = hour, LocalCacheExpiration = hour };

        var variants = new Dictionary<string, Func<long[], string, Task<int>>>
        {
            ["CacheFlow batch"] = async (ids, generation) =>
            {
                var read = await flow.GetOrCreateManyAsync(ids.Select(id => $"{generation}user:{id}"), async (keys, ct) =>
                    (IReadOnlyDictionary<string, User>)(await users.GetManyAsync([.. keys.Select(k => long.Parse(k[(generation.Length + 5)..], System.Globalization.CultureInfo.InvariantCulture))], ct))
                        .ToDictionary(u => $"{generation}user:{u.Id}"), entry);
                return read.Count;
            },
            ["CacheFlow 20 single reads"] = async (ids, generation) =>
                (await Task.WhenAll(ids.Select(id => flow.GetOrCreateAsync($"{generation}single:{id}", ct => new ValueTask<User?>(users.GetAsync(id, ct)), entry).AsTask()))).Length,
            ["FusionCache 20 reads"] = async (ids, generation) =>
                (await Task.WhenAll(ids.Select(id => fusion.GetOrSetAsync<User?>($"{generation}user:{id}", async (_, ct) => await users.GetAsync(id, ct), fusionEntry).AsTask()))).Length,
            ["HybridCache 20 reads"] = async (ids, generation) =>
                (await Task.WhenAll(ids.Select(id => hybrid.GetOrCreateAsync($"batch-hc:{generation}user:{id}", async ct => await users.GetAsync(id, ct), hybridEntry).AsTask()))).Length,
        };

        var results = variants.Keys.ToDictionary(v => v, _ => new List<double>());
        foreach (var (name, read) in variants)
            await PagesPerSecondAsync(read, count, seconds: 2, seed: 1);
        for (var repeat = 0; repeat < repeats; repeat++)
        {
            foreach (var (name, read) in variants)
            {
                var pages = await PagesPerSecondAsync(read, count, seconds, seed: (repeat * 100) + results[name].Count + 7);
                results[name].Add(pages);
                Console.WriteLine($"  [batch] repeat {repeat + 1}: {name,-26} {pages,8:F0} pages/s");
            }
        }

        double RatioOf(string a, string b) => Report.Median([.. results[a].Zip(results[b], (x, y) => x / y)]);
        string Spread(string a, string b) => string.Join(", ", results[a].Zip(results[b], (x, y) => (x / y).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)));
        return Report.Write("batch", $"A page of {PageSize} users by id, mostly misses: pages/s ({database})", "pages/s", servers.RedisDescription, results,
            $"in process, {Concurrency} pages at a time, {seconds} s per variant and repeat after a discarded 2 s pass; ids uniform over all {count:N0} users (nearly all misses); " +
            "each variant has its own keys, and each pass keys of its own (every pass starts cold); the peers' 20 reads are sent together",
            findings:
            [
                "Ratios, each the median of the repeats' ratios (every repeat's in brackets); the target (issue 14) is 5× the single reads:",
                $"CacheFlow batch / CacheFlow 20 single reads: {RatioOf("CacheFlow batch", "CacheFlow 20 single reads"):0.00} ({Spread("CacheFlow batch", "CacheFlow 20 single reads")})",
                $"CacheFlow batch / FusionCache 20 reads: {RatioOf("CacheFlow batch", "FusionCache 20 reads"):0.00} ({Spread("CacheFlow batch", "FusionCache 20 reads")})",
                $"CacheFlow batch / HybridCache 20 reads: {RatioOf("CacheFlow batch", "HybridCache 20 reads"):0.00} ({Spread("CacheFlow batch", "HybridCache 20 reads")})",
            ]);
    }

    /// <summary>Reads pages of random ids with <see cref="Concurrency"/> workers for a while; returns pages per second.</summary>
    private static async Task<double> PagesPerSecondAsync(Func<long[], string, Task<int>> read, int count, int seconds, int seed)
    {
        // Keys of this pass's own (a generation per pass): every pass starts cold, as the first did, whatever the
        // passes before it loaded into the L1s and Redis.
        var generation = $"g{seed}:";
        var pages = 0L;
        var clock = Stopwatch.StartNew();
        var until = TimeSpan.FromSeconds(seconds);
        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(worker => Task.Run(async () =>
        {
            var random = new Random((seed * 1000) + worker);
            while (clock.Elapsed < until)
            {
                var ids = new long[PageSize];
                for (var i = 0; i < PageSize; i++)
                    ids[i] = random.NextInt64(1, count + 1);
                await read(ids, generation);
                Interlocked.Increment(ref pages);
            }
        })));
        return pages / clock.Elapsed.TotalSeconds;
    }
}
