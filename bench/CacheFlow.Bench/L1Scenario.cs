using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;

namespace CacheFlow.Bench;

/// <summary>
/// A bounded L1 under a Zipf mix, in process: every library's L1 holds at most 10,000 entries while reads go to a
/// million keys (Zipf, s = 1, the read bench's sampler), with Redis behind it. Measured: the share of reads the L1
/// answers, and reads per second (16 concurrent readers; a read the L1 misses is a Redis GET, the values are made,
/// not loaded). CacheFlow runs twice: with its frequency admission (the default) and without it, the control that
/// shows what MemoryCache's own policy gives. Each variant reads 500,000 times to warm, then once per repeat.
/// </summary>
public static class L1Scenario
{
    private const int Keys = 1_000_000;
    private const int L1Entries = 10_000;
    private const int Reads = 500_000;
    private const int Concurrency = 16;

    public static async Task<string> RunAsync(BenchServers servers, int repeats)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(servers.Redis);
        var hour = TimeSpan.FromHours(1);
        var payload = JsonSerializer.SerializeToUtf8Bytes(Profile.Of(Keys), PeerCaches.Json).Length;

        CacheFlowCache Flow(string prefix, bool admission) => new(redis,
            Options.Create(new CacheFlowOptions { KeyPrefix = prefix, SerializerOptions = PeerCaches.Json, LocalCacheEnabled = true, LocalMaxAge = hour, LocalSizeLimit = L1Entries, LocalFrequencyAdmission = admission }),
            TimeProvider.System, NullLogger<CacheFlowCache>.Instance);
        using var flow = Flow("l1-cf:", admission: true);
        using var flowLru = Flow("l1-cf-lru:", admission: false);
        var entry = new CacheEntryOptions { Duration = hour };

        using var fusionMemory = new MemoryCache(new MemoryCacheOptions { SizeLimit = L1Entries, TrackStatistics = true });
        using var fusion = PeerCaches.Fusion(redis, "l1", "l1-fc:", PeerCaches.Json, memory: fusionMemory);
        var fusionEntry = new FusionCacheEntryOptions { Duration = hour, Size = 1 };

        // HybridCache sizes an L1 entry by its payload's bytes, so its limit is 10,000 payloads' worth.
        await using var hybridServices = PeerCaches.Hybrid(redis, memory: o => (o.SizeLimit, o.TrackStatistics) = ((long)L1Entries * payload, true));
        var hybrid = hybridServices.GetRequiredService<HybridCache>();
        var hybridMemory = (MemoryCache)hybridServices.GetRequiredService<IMemoryCache>();
        var hybridEntry = new HybridCacheEntryOptions { Expiration = hour, LocalCacheExpiration = hour };

        var variants = new (string Name, Func<long, ValueTask> Read, Func<long> L1Hits)[]
        {
            ("CacheFlow, frequency admission", async id => await flow.GetOrCreateAsync($"u:{id}", _ => ValueTask.FromResult<Profile?>(Profile.Of(id)), entry), () => flow.GetStatistics().Total.LocalHits),
            ("CacheFlow, admission off (control)", async id => await flowLru.GetOrCreateAsync($"u:{id}", _ => ValueTask.FromResult<Profile?>(Profile.Of(id)), entry), () => flowLru.GetStatistics().Total.LocalHits),
            ("FusionCache", async id => await fusion.GetOrSetAsync<Profile?>($"u:{id}", (_, _) => Task.FromResult<Profile?>(Profile.Of(id)), fusionEntry), () => fusionMemory.GetCurrentStatistics()!.TotalHits),
            ("HybridCache", async id => await hybrid.GetOrCreateAsync($"l1-hc:u:{id}", _ => ValueTask.FromResult<Profile?>(Profile.Of(id)), hybridEntry), () => hybridMemory.GetCurrentStatistics()!.TotalHits),
        };

        foreach (var variant in variants)
        {
            Console.WriteLine($"  [l1] warming {variant.Name}");
            await ReadAsync(variant.Read, seed: 1);
        }

        var ratios = variants.ToDictionary(v => v.Name, _ => new List<double>());
        var speeds = variants.ToDictionary(v => v.Name, _ => new List<double>());
        for (var repeat = 0; repeat < repeats; repeat++)
        {
            foreach (var (name, read, l1Hits) in variants)
            {
                var before = l1Hits();
                var perSecond = await ReadAsync(read, seed: 100 + repeat);
                ratios[name].Add(100.0 * (l1Hits() - before) / Reads);
                speeds[name].Add(perSecond);
                Console.WriteLine($"  [l1] repeat {repeat + 1}: {name,-36} L1 {ratios[name][^1],6:F2}%  {perSecond,9:F0} reads/s");
            }
        }

        // floor(n^u) puts ln(k + 1) / ln(n) of the reads on ids 1..k: what an L1 holding exactly the most read keys answers.
        var ideal = 100 * Math.Log(L1Entries + 1) / Math.Log(Keys);
        string Median(Dictionary<string, List<double>> figures, string name, string format) => Report.Median(figures[name]).ToString(format, CultureInfo.InvariantCulture);
        return Report.Write("l1", $"A bounded L1 under Zipf: share of reads it answers ({L1Entries:N0} entries, {Keys:N0} keys)", "% of reads from the L1", servers.RedisDescription, ratios,
            $"in process, {Concurrency} readers, {Reads:N0} Zipf reads (s = 1) per variant and repeat after {Reads:N0} to warm; every L1 at most {L1Entries:N0} entries " +
            $"(HybridCache's, which sizes entries in bytes: {L1Entries:N0} × {payload} bytes), entries live an hour; Redis behind every L1",
            columns: [("median reads/s", variants.ToDictionary(v => v.Name, v => Median(speeds, v.Name, "0")))],
            findings:
            [
                $"An L1 holding exactly the {L1Entries:N0} most read keys would answer {ideal:0.00}% of the reads.",
                .. variants.Skip(1).Select(v => $"CacheFlow, frequency admission / {v.Name}: L1 share {Ratio(ratios, v.Name):0.00}×, reads/s {Ratio(speeds, v.Name):0.00}× (repeats {Spread(speeds, v.Name)})"),
            ]);

        double Ratio(Dictionary<string, List<double>> figures, string over) => Report.Median([.. figures[variants[0].Name].Zip(figures[over], (x, y) => x / y)]);
        string Spread(Dictionary<string, List<double>> figures, string over) =>
            string.Join(", ", figures[variants[0].Name].Zip(figures[over], (x, y) => (x / y).ToString("0.00", CultureInfo.InvariantCulture)));
    }

    /// <summary>Reads <see cref="Reads"/> Zipf-drawn keys with <see cref="Concurrency"/> readers; returns reads per second.</summary>
    private static async Task<double> ReadAsync(Func<long, ValueTask> read, int seed)
    {
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(reader => Task.Run(async () =>
        {
            var random = new Random((seed * 1000) + reader);
            for (var i = 0; i < Reads / Concurrency; i++)
                await read((long)Math.Floor(Math.Pow(Keys, random.NextDouble())));
        })));
        return Reads / clock.Elapsed.TotalSeconds;
    }

    /// <summary>A value about the size of the API's user, immutable so every library may share it from its L1.</summary>
    [ImmutableObject(true)]
    public sealed record Profile(long Id, string Username, string Email, bool IsActive)
    {
        public static Profile Of(long id) => new(id, $"user{id}", $"user{id}@example.com", true);
    }
}
