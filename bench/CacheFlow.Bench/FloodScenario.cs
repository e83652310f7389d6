using System.Globalization;
using CacheFlow.Api.Http;
using CacheFlow.Api.Redis;
using CacheFlow.Redis;
using CacheFlow.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CacheFlow.Bench;

/// <summary>
/// What a flood of junk requests costs the API's normal reads (issue 12): a cached user (<c>GET /users/{id}</c>, a
/// hit) and a real list page, each measured by wrk alone and while a second wrk floods the API with junk — pages past
/// the last, page numbers beyond an int, ids with a sign or a leading zero — once with the per-IP rate limits off (the
/// raw cost) and once on. The conditions alternate within each round, in an order that rotates from round to round,
/// so drift of the machine touches them alike; the figures are per-round ratios to the read alone. Redis's key count
/// and memory are read before the first flood and after the last: junk is not cached.
/// </summary>
public static class FloodScenario
{
    private const int SeedUsers = 10_000;
    private const int PageSize = 20;
    private const int LastPage = SeedUsers / PageSize;
    private const int HotUsers = 1000;
    private const int HotPages = 50;
    private const string Alone = "alone";
    private const string LimitsOff = "junk flood, rate limits off";
    private const string LimitsOn = "junk flood, rate limits on";

    private static readonly string[] Conditions = [Alone, LimitsOff, LimitsOn];

    private sealed record Read(string Name, string Mode, int N);

    private sealed record Sample(double RequestsPerSecond, double P99Ms, double? JunkPerSecond);

    public static async Task<string> RunAsync(BenchServers servers, int repeats, int seconds)
    {
        var port = ServerProcess.FreeLoopbackPort();
        var data = Directory.CreateTempSubdirectory("cacheflow-flood-");
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders().AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Redis"] = servers.Redis,
            ["ConnectionStrings:Users"] = await servers.CreateUsersDatabaseAsync(),
            ["Storage:DataDirectory"] = data.FullName,
            ["Storage:SeedUsers"] = SeedUsers.ToString(CultureInfo.InvariantCulture),
            ["Warming:OnStartup"] = "false",
            // The flood reads and writes nothing durable; the bench's read Redis runs as a cache (no persistence),
            // which the API refuses for durable data unless told to accept it.
            ["DurableData:AllowDataLoss"] = "true",
        });
        builder.AddCacheFlowApi();
        await using var app = builder.Build();
        // Clients are told apart as behind a proxy (wrk on loopback, a known proxy, sends X-Forwarded-For): the normal
        // reads come from 1,000 addresses, each far inside its budget; the flood from one.
        app.UseForwardedHeaders(new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor });
        app.MapCacheFlowApi();
        await app.StartAsync();
        // The limiter reads these options on every request: switching Enabled switches the limits between runs.
        var limits = app.Services.GetRequiredService<IOptions<RateLimitOptions>>().Value;
        limits.Enabled = false;

        var reads = new Read[] { new("GET /users/{id} (hit)", "user", HotUsers), new($"GET /users?page&limit={PageSize} (hit)", "list", HotPages) };
        using (var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") })
        {
            for (var id = 1; id <= HotUsers; id++)
                (await client.GetAsync($"/users/{id}")).EnsureSuccessStatusCode();
            for (var page = 1; page <= HotPages; page++)
                (await client.GetAsync($"/users?page={page}&limit={PageSize}")).EnsureSuccessStatusCode();
        }

        var script = WriteScript(data.FullName);
        // A discarded 2 s pass of each load: tiered-up code, warm pools.
        foreach (var read in reads)
            await Wrk.RunAsync(port, script, "", read.Mode, read.N, 2);
        await Wrk.RunJunkAsync(port, script, "junk", LastPage, 2);

        var redis = app.Services.GetRequiredService<IConnectionMultiplexer>();
        var guard = app.Services.GetRequiredService<RedisGuard>();
        var before = await RedisServerStats.ReadAsync(redis, guard);
        var samples = reads.SelectMany(r => Conditions.Select(c => (r.Name, c))).ToDictionary(k => k, _ => new List<Sample>());
        for (var round = 0; round < repeats; round++)
        {
            foreach (var read in reads)
            {
                foreach (var condition in Conditions.Skip(round % Conditions.Length).Concat(Conditions.Take(round % Conditions.Length)))
                {
                    limits.Enabled = condition == LimitsOn;
                    var junk = condition == Alone ? null : Wrk.RunJunkAsync(port, script, "junk", LastPage, seconds + 1);
                    var victim = await Wrk.RunAsync(port, script, "", read.Mode, read.N, seconds);
                    var sample = new Sample(victim.RequestsPerSecond, victim.P99Ms, junk is null ? null : (await junk).RequestsPerSecond);
                    samples[(read.Name, condition)].Add(sample);
                    Console.WriteLine($"  [flood] round {round + 1}: {read.Name,-28} {condition,-28} {sample.RequestsPerSecond,8:F0} requests/s  " +
                        $"p99 {sample.P99Ms:F2} ms  junk {sample.JunkPerSecond:F0}/s");
                }
            }
        }

        limits.Enabled = false;
        var after = await RedisServerStats.ReadAsync(redis, guard);
        await app.StopAsync();
        data.Delete(recursive: true);
        return Write(servers, samples, seconds, repeats, before, after);
    }

    private static string Write(BenchServers servers, Dictionary<(string Read, string Condition), List<Sample>> samples, int seconds, int repeats,
        RedisServerStats before, RedisServerStats after)
    {
        var rows = samples.ToDictionary(s => $"{s.Key.Read}, {s.Key.Condition}", s => s.Value);
        var ratios = new Dictionary<string, string>();
        var costs = new Dictionary<string, string>();
        var summary = new List<string>();
        foreach (var ((read, condition), list) in samples.Where(s => s.Key.Condition != Alone))
        {
            var alone = samples[(read, Alone)];
            // Per round: this run over the read alone in the same round; and, as the API's capacity is shared, what
            // one junk request costs in reads: (alone - with the flood) / junk served.
            var perRound = list.Select((s, i) => s.RequestsPerSecond / alone[i].RequestsPerSecond).ToList();
            var cost = list.Select((s, i) => (alone[i].RequestsPerSecond - s.RequestsPerSecond) / s.JunkPerSecond!.Value).ToList();
            var name = $"{read}, {condition}";
            ratios[name] = $"{Report.Median(perRound):0.00} ({perRound.Min():0.00}–{perRound.Max():0.00})";
            costs[name] = $"{Report.Median(cost):0.00}";
            summary.Add($"{read}, {condition}: {Report.Median(perRound):0.00}× its requests/s alone (rounds {perRound.Min():0.00}–{perRound.Max():0.00}), " +
                $"junk served {Report.Median([.. list.Select(s => s.JunkPerSecond!.Value)]):N0}/s, one junk request costs about {Report.Median(cost):0.00} reads");
        }

        string Median(Func<Sample, double?> figure, string key, string format) =>
            rows[key].Select(figure).Where(v => v is not null).Select(v => v!.Value).ToList() is { Count: > 0 } values
                ? Report.Median(values).ToString(format, CultureInfo.InvariantCulture)
                : "";
        var keysGrew = after.Keys - before.Keys;
        return Report.Write("flood", "Normal reads during a junk flood: requests/s (wrk -t2 -c64, and a second wrk -t2 -c64 of junk)", "requests/s",
            servers.RedisDescription, rows.ToDictionary(r => r.Key, r => r.Value.Select(s => s.RequestsPerSecond).ToList()),
            $"database: {(servers.Embedded ? "SQLite file" : "PostgreSQL (throwaway, loopback, fsync off)")}, {SeedUsers:N0} users ({LastPage} pages of {PageSize}); " +
            $"{repeats} rounds, {seconds} s per run after one discarded 2 s pass of each load; conditions alternate within a round in an order rotated each round. " +
            $"Reads: users 1..{HotUsers} and pages 1..{HotPages}, all cached beforehand, from 1,000 client addresses (X-Forwarded-For). " +
            $"Junk, from one address: pages past the last (up to 2^31-1, 404, not cached), pages beyond an int (400), ids with a sign or a leading zero (400). " +
            "Rate limits: the defaults (reads 6,000 a minute per address) when on. " +
            "wrk, the app, Redis and PostgreSQL share the 2 cores, so the ratios, taken per round, are what to read",
            [
                ("p99 ms", rows.Keys.ToDictionary(k => k, k => Median(s => s.P99Ms, k, "0.00"))),
                ("× alone, median (min–max of rounds)", ratios),
                ("junk served /s", rows.Keys.ToDictionary(k => k, k => Median(s => s.JunkPerSecond, k, "0"))),
                ("one junk request costs (reads)", costs),
            ],
            [
                "What the flood did:",
                .. summary,
                $"Redis before the first flood and after the last: {before.Keys:N0} → {after.Keys:N0} keys ({(keysGrew == 0 ? "none added" : $"{keysGrew:+#,0;-#,0} keys")}), " +
                $"used memory {Megabytes(before.UsedMemory)} → {Megabytes(after.UsedMemory)}",
            ]);
    }

    private static string Megabytes(long? bytes) => bytes is { } b ? $"{b / 1048576.0:0.00} MB" : "n/a";

    /// <summary>The request script: a cached user or list page from one of 1,000 addresses, or junk from one address.</summary>
    private static string WriteScript(string directory)
    {
        var script = Path.Combine(directory, "flood.lua");
        File.WriteAllText(script, """
            init = function(args) mode = args[2]; n = tonumber(args[3]) end
            request = function()
              local path
              if mode == "junk" then
                local kind = math.random(1, 5)
                if kind == 1 then path = "/users?page=" .. math.random(n + 1, 2147483647) .. "&limit=20"
                elseif kind == 2 then path = "/users?page=" .. math.random(n + 1, n + 1000) .. "&limit=20"
                elseif kind == 3 then path = "/users?page=99999999" .. math.random(100, 999) .. "&limit=20"
                elseif kind == 4 then path = "/users/+" .. math.random(1, 1000)
                else path = "/users/0" .. math.random(1, 1000) end
                return wrk.format("GET", path, {["X-Forwarded-For"] = "203.0.113.7"})
              end
              if mode == "user" then path = "/users/" .. math.random(1, n)
              else path = "/users?page=" .. math.random(1, n) .. "&limit=20" end
              return wrk.format("GET", path, {["X-Forwarded-For"] = "10.0." .. math.random(0, 3) .. "." .. math.random(1, 250)})
            end
            """);
        return script;
    }
}
