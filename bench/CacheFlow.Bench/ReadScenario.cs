using System.Globalization;
using StackExchange.Redis;

namespace CacheFlow.Bench;

/// <summary>
/// The read path over HTTP, measured by wrk (-t2 -c64) against <see cref="ReadApp"/> in four workloads: the hit path
/// (ids uniform over 1,000 users warmed beforehand: every variant and both ceilings, the figures the targets are
/// about), the miss path (ids never read before by the variant), Zipf-distributed ids
/// over every user, and list pages drawn uniformly from the first 100 (limit 20). Rows alternate within each repeat
/// after one discarded pass each (tiered-up code, warm hot set); a Zipf row is warmed until its hit ratio stops moving.
/// </summary>
public static class ReadScenario
{
    private const int WarmUsers = 1000;
    private const int ListPages = 100;

    private static readonly string Warm = WarmUsers.ToString(CultureInfo.InvariantCulture);

    /// <summary>A Zipf row is warm when one warming pass moves its hit ratio by less than this.</summary>
    private const double SteadyHitRatioStep = 0.01;

    private const int MaxZipfWarmPasses = 12;

    /// <summary>Ids 1..this are read once in every Zipf row's cache before its passes (about 84% of Zipf reads, s = 1, over a million).</summary>
    private const int ZipfWarmIds = 100_000;

    private sealed record Row(string Name, string Variant, string Mode, int N)
    {
        public string Path => Mode switch
        {
            "list" => $"/{ReadApp.Slug(Variant)}/users",
            "cold" => $"/{ReadApp.Slug(Variant)}/cold/",
            "mixed" => $"/{ReadApp.Slug(Variant)}/",
            _ => $"/{ReadApp.Slug(Variant)}/users/",
        };
    }

    private sealed record Sample(double RequestsPerSecond, double P50Ms, double P99Ms, double LoadsPerRequest, double BytesPerRequest);

    /// <summary>Runs the rows whose names contain <paramref name="only"/> (all when null); ratios need the rows they name.</summary>
    public static async Task<string> RunAsync(BenchServers servers, int repeats, int seconds, string? only = null)
    {
        var (users, count, database) = await servers.CreateUsersAsync();
        await using var redis = await ConnectionMultiplexer.ConnectAsync(servers.Redis);
        await using var app = await ReadApp.StartAsync(redis, users, WarmUsers);
        var everyVariant = new[] { ReadApp.DictionaryCeiling, ReadApp.RedisCeiling }.Concat(ReadApp.Caches);
        var mixed = new[] { ReadApp.NoCache, "CacheFlow L2", "CacheFlow L1+L2", "FusionCache L1+L2", "HybridCache L1+L2" };
        var rows = everyVariant.Select(v => new Row($"hit: {v}", v, "uniform", WarmUsers))
            .Concat(ReadApp.Caches.Select(v => new Row($"miss: {v}", v, "cold", count)))
            .Concat(ReadApp.Caches.Select(v => new Row($"mixed: {v}", v, "mixed", count)))
            .Concat(mixed.Select(v => new Row($"zipf: {v}", v, "zipf", count)))
            .Concat(mixed.Select(v => new Row($"list: {v}", v, "list", ListPages)))
            .Where(r => only is null || r.Name.Contains(only, StringComparison.Ordinal))
            .ToList();

        using (var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{app.Port}") })
        {
            foreach (var variant in everyVariant)
                for (var id = 1; id <= WarmUsers; id++)
                    (await client.GetAsync($"/{ReadApp.Slug(variant)}/users/{id}")).EnsureSuccessStatusCode();
            // Every list page a run can ask for is cached first: a cold page costs a COUNT(*) over the whole table,
            // and whichever variant ran first would pay for it.
            await Parallel.ForEachAsync(mixed.Where(v => v != ReadApp.NoCache && rows.Any(r => r.Mode == "list")).SelectMany(v => Enumerable.Range(1, ListPages).Select(p => $"/{ReadApp.Slug(v)}/users?page={p}&limit=20")),
                new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (path, ct) => (await client.GetAsync(path, ct)).EnsureSuccessStatusCode());
            // Every Zipf row starts from the same cache: the most popular ids, read once each. Warming by time alone
            // fed back on itself (a faster variant saw more ids in its passes, so its hit ratio and speed grew more).
            await Parallel.ForEachAsync(rows.Where(r => r.Mode == "zipf" && r.Variant != ReadApp.NoCache).SelectMany(r => Enumerable.Range(1, ZipfWarmIds).Select(id => $"{r.Path}{id}")),
                new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (path, ct) => (await client.GetAsync(path, ct)).EnsureSuccessStatusCode());
        }

        var script = Wrk.WriteScript(Path.GetTempPath());
        var runs = 0;
        string Run() => (++runs).ToString(CultureInfo.InvariantCulture);
        var warmed = new Dictionary<Row, string>();
        foreach (var row in rows)
        {
            Console.WriteLine($"  [read] warming {row.Name}");
            if (row.Mode != "zipf")
            {
                await Wrk.RunAsync(app.Port, script, row.Path, row.Mode, row.N, 2, Run(), Warm);
                await app.SettleAsync();
                continue;
            }

            // Zipf over a million ids keeps finding new ones for a long time: warm until a pass moves the hit ratio
            // by less than a point, so the repeats measure the steady state, not the warm-up.
            var previous = double.NaN;
            for (var pass = 1; pass <= MaxZipfWarmPasses; pass++)
            {
                var loads = app.Loads(row.Variant);
                var run = await Wrk.RunAsync(app.Port, script, row.Path, row.Mode, row.N, seconds, Run());
                await app.SettleAsync();
                var hitRatio = 1 - ((double)(app.Loads(row.Variant) - loads) / run.Requests);
                warmed[row] = $"{hitRatio:0.000} after {pass} passes of {seconds} s";
                if (Math.Abs(hitRatio - previous) < SteadyHitRatioStep)
                    break;
                previous = hitRatio;
            }
        }

        var samples = rows.ToDictionary(r => r, _ => new List<Sample>());
        for (var repeat = 0; repeat < repeats; repeat++)
        {
            foreach (var row in rows)
            {
                var loads = app.Loads(row.Variant);
                var allocated = GC.GetTotalAllocatedBytes();
                var run = await Wrk.RunAsync(app.Port, script, row.Path, row.Mode, row.N, seconds, Run(), Warm);
                await app.SettleAsync();
                var sample = new Sample(run.RequestsPerSecond, run.P50Ms, run.P99Ms,
                    (double)(app.Loads(row.Variant) - loads) / run.Requests, (double)(GC.GetTotalAllocatedBytes() - allocated) / run.Requests);
                samples[row].Add(sample);
                Console.WriteLine($"  [read] repeat {repeat + 1}: {row.Name,-26} {sample.RequestsPerSecond,9:F0} requests/s  p99 {sample.P99Ms:F2} ms  loads/request {sample.LoadsPerRequest:F3}");
            }
        }

        double Median(Row row, Func<Sample, double> figure) => Report.Median([.. samples[row].Select(figure)]);
        string Column(Row row, Func<Sample, double> figure, string format) => Median(row, figure).ToString(format, CultureInfo.InvariantCulture);
        // Each repeat's ratio (its two runs are minutes apart at most), then the median: drift between repeats cancels.
        double RatioOf(string what, string over) =>
            rows.FirstOrDefault(r => r.Name == what) is { } a && rows.FirstOrDefault(r => r.Name == over) is { } b
                ? Report.Median([.. samples[a].Zip(samples[b], (x, y) => x.RequestsPerSecond / y.RequestsPerSecond)])
                : double.NaN;
        string Spread(string what, string over) =>
            rows.FirstOrDefault(r => r.Name == what) is { } a && rows.FirstOrDefault(r => r.Name == over) is { } b
                ? string.Join(", ", samples[a].Zip(samples[b], (x, y) => (x.RequestsPerSecond / y.RequestsPerSecond).ToString("0.00", CultureInfo.InvariantCulture)))
                : "";
        string Ratio(string what, string over, double target) =>
            $"{what} / {over}: {RatioOf(what, over):0.00} (repeats {Spread(what, over)}; target {target:0.00}: {(RatioOf(what, over) >= target ? "met" : "not met")})";

        return Report.Write("read", $"Read path over HTTP: requests/s (wrk -t2 -c64), {database}", "requests/s", servers.RedisDescription,
            rows.ToDictionary(r => r.Name, r => samples[r].Select(s => s.RequestsPerSecond).ToList()),
            $"hit: ids uniform over {WarmUsers:N0} warm users; miss: keys never read before (each run's number is in its keys, family cold), ids scattered over all {count:N0}; mixed: misses among hits of one family (user), 15% keys never read before (as miss), 85% ids uniform over the {WarmUsers:N0} warm users; zipf: ids Zipf-distributed (s = 1) over all {count:N0}, each variant's cache first given ids 1..{ZipfWarmIds:N0} (one read each, the same for all), then warmed until a pass moved its hit ratio by less than a point; list: pages uniform over the first {ListPages} (limit 20). " +
            $"{seconds} s per row and repeat after one discarded 2 s pass; wrk, the app{(servers.Embedded ? ", Garnet" : ", Redis, PostgreSQL")} share the 2 cores. " +
            "Loads per request are factory calls (database reads) per request, so 1 − that is the hit ratio; bytes are all the harness process allocated per request" +
            (servers.Embedded ? " (Garnet's included: it runs in the process)." : "."),
            [
                ("p50 ms", rows.ToDictionary(r => r.Name, r => Column(r, s => s.P50Ms, "0.00"))),
                ("p99 ms", rows.ToDictionary(r => r.Name, r => Column(r, s => s.P99Ms, "0.00"))),
                ("loads per request", rows.ToDictionary(r => r.Name, r => r.Variant.Contains("ceiling", StringComparison.Ordinal) ? "" : Column(r, s => s.LoadsPerRequest, "0.0000"))),
                ("bytes per request", rows.ToDictionary(r => r.Name, r => Column(r, s => s.BytesPerRequest, "0"))),
            ],
            [
                "Ratios in this run, each the median over the repeats of that repeat's ratio, with every repeat's ratio (targets from issues 7 and 14):",
                Ratio("hit: CacheFlow L1+L2", "hit: dictionary ceiling", 0.97),
                Ratio("hit: FusionCache L1+L2", "hit: dictionary ceiling", 0.97),
                Ratio("hit: HybridCache L1+L2", "hit: dictionary ceiling", 0.97),
                Ratio("hit: CacheFlow L2", "hit: Redis GET ceiling", 0.90),
                Ratio("hit: FusionCache L2", "hit: Redis GET ceiling", 0.90),
                Ratio("hit: HybridCache L2", "hit: Redis GET ceiling", 0.90),
                Ratio("hit: CacheFlow L1+L2", "hit: FusionCache L1+L2", 1.0),
                Ratio("hit: CacheFlow L1+L2", "hit: HybridCache L1+L2", 1.0),
                Ratio("hit: CacheFlow L2", "hit: FusionCache L2", 1.15),
                Ratio("hit: CacheFlow L2", "hit: HybridCache L2", 1.15),
                Ratio("miss: CacheFlow L2", "miss: FusionCache L2", 1.0),
                Ratio("miss: CacheFlow L2", "miss: HybridCache L2", 1.0),
                Ratio("miss: CacheFlow L1+L2", "miss: FusionCache L1+L2", 1.0),
                Ratio("miss: CacheFlow L1+L2", "miss: HybridCache L1+L2", 1.0),
                Ratio("mixed: CacheFlow L2", "mixed: HybridCache L2", 1.0),
                Ratio("mixed: CacheFlow L1+L2", "mixed: HybridCache L1+L2", 1.0),
                Ratio("mixed: CacheFlow L2", "mixed: FusionCache L2", 1.0),
                Ratio("zipf: CacheFlow L1+L2", "zipf: FusionCache L1+L2", 1.0),
                Ratio("zipf: CacheFlow L1+L2", "zipf: HybridCache L1+L2", 1.0),
                "Zipf hit ratio when warm (the last warming pass): " + string.Join("; ", warmed.Select(w => $"{w.Key.Variant} {w.Value}")),
                $"speedup over the database: zipf {RatioOf("zipf: CacheFlow L2", "zipf: no cache"):0.0}× (CacheFlow L2), {RatioOf("zipf: CacheFlow L1+L2", "zipf: no cache"):0.0}× (L1+L2); " +
                $"list {RatioOf("list: CacheFlow L2", "list: no cache"):0}× (L2), {RatioOf("list: CacheFlow L1+L2", "list: no cache"):0}× (L1+L2)",
            ]);
    }
}
