using CacheFlow.Api.Redis;
using CacheFlow.Bench;

// dotnet run -c Release --project bench/CacheFlow.Bench -- <read|micro|stampede|race|all> [--redis host:port] [--repeats N] [--seconds S]
var scenario = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "all";
var redisArgument = Option("--redis");
var repeats = int.Parse(Option("--repeats") ?? "5", System.Globalization.CultureInfo.InvariantCulture);

var data = Directory.CreateTempSubdirectory("cacheflow-bench-");
using var garnet = redisArgument is null ? EmbeddedGarnet.Start(data.FullName) : null;
var redis = redisArgument ?? $"127.0.0.1:{garnet!.Port}";
var redisDescription = redisArgument is null ? "embedded Garnet 2.2.8 (in the harness process)" : $"Redis at {redisArgument}";
Console.WriteLine($"CacheFlow bench: {scenario} on {redisDescription}, {repeats} repeats, variants alternating");

try
{
    if (scenario is "read" or "all")
    {
        var seconds = int.Parse(Option("--seconds") ?? "5", System.Globalization.CultureInfo.InvariantCulture);
        var results = await ReadScenario.RunAsync(redis, repeats, seconds);
        Console.WriteLine(Report.Write("read", "Read path over HTTP: requests/s of a hit (wrk -t2 -c64, 1,000 warm users)", "requests/s",
            redisDescription, results, $"{seconds} s per variant and repeat, wrk and the app on the same 2 cores; ratios in one run are the figure"));
    }

    if (scenario is "micro" or "all")
    {
        HitPathBenchmarks.Redis = redisArgument;
        var (nanoseconds, allocated) = MicroScenario.Run();
        Console.WriteLine(Report.Write("micro", "Hit path in process (BenchmarkDotNet): time per hit", "ns per hit",
            redisDescription, nanoseconds, "BenchmarkDotNet in process, 3 warmups and 15 iterations; the runs are the iteration means",
            [("bytes allocated per hit", allocated)]));
    }

    if (scenario is "stampede" or "all")
    {
        var results = await RunAsync("stampede", CacheVariant.All.Keys.ToList(), (variant, _) => Scenarios.StampedeAsync(variant, redis));
        Console.WriteLine(Report.Write("stampede", "Stampede: database loads for 1,000 concurrent reads of one cold key over 4 instances", "loads",
            redisDescription, results, "each load takes 50 ms; fewer is better, 1 is the floor"));
    }

    if (scenario is "race" or "all")
    {
        var variants = CacheVariant.All.Keys.Where(v => v is not "per-process lock" and not "FusionCache + locker").ToList();
        var results = await RunAsync("race", variants, (variant, repeat) => Scenarios.RaceAsync(variant, redis, seed: 1000 * (repeat + 1)));
        Console.WriteLine(Report.Write("race", "Stale reads: reads older than an acknowledged write (4,000 operations, 4 hot keys)", "violations",
            redisDescription, results, "6 readers, 2 writers, one instance; a writer bumps the version, invalidates, then acknowledges; 0 is correct"));
    }
}
finally
{
    garnet?.Dispose();
    data.Delete(recursive: true);
}

// Variants alternate within each repeat, so drift of the machine touches all alike.
async Task<Dictionary<string, List<double>>> RunAsync(string name, List<string> variants, Func<string, int, Task<double>> run)
{
    var results = variants.ToDictionary(v => v, _ => new List<double>());
    for (var repeat = 0; repeat < repeats; repeat++)
    {
        foreach (var variant in variants)
        {
            var value = await run(variant, repeat);
            results[variant].Add(value);
            Console.WriteLine($"  [{name}] repeat {repeat + 1}: {variant,-22} {value}");
        }
    }

    return results;
}

string? Option(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
