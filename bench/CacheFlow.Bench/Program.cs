using CacheFlow.Bench;

// dotnet run -c Release --project bench/CacheFlow.Bench -- <read|writes|flood|batch|servers|l1|micro|stampede|race|all> [--redis host:port] [--embedded] [--repeats N] [--seconds S] [--only text] [--servers text] [--calls N]
if (args is ["garnet-host", .. var garnetArguments])
{
    // A child of the servers scenario: a Garnet of its own, so its CPU is its own.
    ServerCostScenario.HostGarnet(garnetArguments);
    return;
}

var scenario = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "all";
var repeats = int.Parse(Option("--repeats") ?? "5", System.Globalization.CultureInfo.InvariantCulture);

await using var servers = await BenchServers.StartAsync(Option("--redis"), args.Contains("--embedded"));
var redis = servers.Redis;
Report.Suffix = servers.Embedded && Option("--redis") is null ? "-embedded" : "";
Console.WriteLine($"CacheFlow bench: {scenario} on {servers.RedisDescription}, {repeats} repeats, variants alternating");

if (scenario is "read" or "all")
{
    var seconds = int.Parse(Option("--seconds") ?? "5", System.Globalization.CultureInfo.InvariantCulture);
    Console.WriteLine(await ReadScenario.RunAsync(servers, repeats, seconds, Option("--only")));
}

if (scenario is "writes" or "all")
{
    var seconds = int.Parse(Option("--seconds") ?? "5", System.Globalization.CultureInfo.InvariantCulture);
    Console.WriteLine(await WritesScenario.RunAsync(servers, repeats, seconds, Option("--only")));
}

if (scenario is "flood" or "all")
{
    var seconds = int.Parse(Option("--seconds") ?? "3", System.Globalization.CultureInfo.InvariantCulture);
    Console.WriteLine(await FloodScenario.RunAsync(servers, repeats, seconds));
}

if (scenario is "batch" or "all")
{
    var seconds = int.Parse(Option("--seconds") ?? "3", System.Globalization.CultureInfo.InvariantCulture);
    Console.WriteLine(await BatchScenario.RunAsync(servers, repeats, seconds));
}

if (scenario is "servers" or "all")
    // Three repeats unless asked otherwise: each repeat starts every server configuration again.
    Console.WriteLine(await ServerCostScenario.RunAsync(Option("--repeats") is null ? 3 : repeats, int.Parse(Option("--calls") ?? "20000", System.Globalization.CultureInfo.InvariantCulture),
        Option("--only"), Option("--servers")));

if (scenario is "l1" or "all")
    Console.WriteLine(await L1Scenario.RunAsync(servers, repeats));

if (scenario is "micro" or "all")
{
    HitPathBenchmarks.Redis = redis;
    var (nanoseconds, allocated) = MicroScenario.Run(Option("--only"));
    Console.WriteLine(Report.Write("micro", "Hit path in process (BenchmarkDotNet): time per hit", "ns per hit",
        servers.RedisDescription, nanoseconds, "BenchmarkDotNet in process, 3 warmups and 15 iterations; the runs are the iteration means",
        [("bytes allocated per hit", allocated)]));
}

if (scenario is "stampede" or "all")
{
    var results = await RunAsync("stampede", CacheVariant.All.Keys.ToList(), (variant, _) => Scenarios.StampedeAsync(variant, redis));
    Console.WriteLine(Report.Write("stampede", "Stampede: database loads for 1,000 concurrent reads of one cold key over 4 instances", "loads",
        servers.RedisDescription, results, "each load takes 50 ms; fewer is better, 1 is the floor"));
}

if (scenario is "race" or "all")
{
    // Through one instance, then spread over two (readers and writers on both, as behind a load balancer).
    var rows = CacheVariant.All.Keys.Where(v => v is not "per-process lock" and not "FusionCache + locker")
        .SelectMany(v => new[] { (Variant: v, Processes: 1), (Variant: v, Processes: 2) })
        .ToDictionary(r => $"{r.Variant}, {r.Processes} instance{(r.Processes > 1 ? "s" : "")}");
    var results = await RunAsync("race", [.. rows.Keys], (row, repeat) => Scenarios.RaceAsync(rows[row].Variant, redis, seed: 1000 * (repeat + 1), rows[row].Processes));
    Console.WriteLine(Report.Write("race", "Stale reads: reads older than an acknowledged write (4,000 operations, 4 hot keys)", "violations",
        servers.RedisDescription, results, "6 readers, 2 writers, over 1 or 2 instances; a writer bumps the version, invalidates, then acknowledges; 0 is correct. " +
        "CacheFlow + L1 across instances is stale for as long as its invalidation takes to cross the bus (docs/scale-out.md); the API ships with the L1 off"));
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
