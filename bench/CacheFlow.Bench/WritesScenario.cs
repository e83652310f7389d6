using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime;
using System.Globalization;
using CacheFlow.Api.Http;
using CacheFlow.Api.Data;
using CacheFlow.WriteBehind;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using CacheFlow.Testing;

namespace CacheFlow.Bench;

/// <summary>
/// The three write paths of the API itself (the real endpoints, hosted in the harness): <c>POST /users</c>
/// (write-through), <c>POST /users/async</c> (durable write-behind) and <c>POST /users/{id}/logins</c> (counted in
/// Redis, coalesced into the database). Measured by wrk; each row waits until what it queued has been applied.
/// </summary>
public static class WritesScenario
{
    private const string WriteThrough = "POST /users (write-through)";
    private const string WriteBehind = "POST /users/async (write-behind)";
    private const string Logins = "POST /users/{id}/logins (coalesced)";
    private const int SeedUsers = 10_000;
    private const int MaxWarmupPasses = 8;
    private const double WarmJitShare = 0.01;

    private sealed record Sample(double RequestsPerSecond, double P50Ms, double P99Ms, double? CommandsPerRequest, double? DelayP99Ms);

    /// <summary>Runs the rows whose names contain <paramref name="only"/> (all when null).</summary>
    public static async Task<string> RunAsync(BenchServers servers, int repeats, int seconds, string? only = null)
    {
        var (redis, redisDescription, users) = await servers.StartWriteServersAsync();
        var port = ServerProcess.FreeLoopbackPort();
        var data = Directory.CreateTempSubdirectory("cacheflow-writes-");
        var builder = WebApplication.CreateBuilder();
        // The API's warnings (a failed flush, Redis errors) show in the bench's output.
        builder.Logging.ClearProviders().AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Redis"] = redis,
            ["ConnectionStrings:Users"] = users,
            ["Storage:DataDirectory"] = data.FullName,
            ["Storage:SeedUsers"] = SeedUsers.ToString(CultureInfo.InvariantCulture),
            ["Warming:OnStartup"] = "false",
            // The bench is one client on loopback sending far past the per-IP limits, on purpose: it measures the write paths, not the limiter.
            ["RateLimits:Enabled"] = "false",
        });
        builder.AddCacheFlowApi();
        await using var app = builder.Build();
        app.MapCacheFlowApi();
        await app.StartAsync();
        var queue = app.Services.GetRequiredService<WriteBehindQueue>();
        var repository = app.Services.GetRequiredService<IUserRepository>();

        // Per write: its write-behind delay (ours); per database command: one duration measure (Npgsql's).
        var delays = new List<double>();
        long commands = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument is { Meter.Name: CacheFlowMeter.Name, Name: "cacheflow.write_behind.delay" } or { Meter.Name: "Npgsql", Name: "db.client.operation.duration" })
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
        {
            if (instrument.Meter.Name == "Npgsql")
            {
                Interlocked.Increment(ref commands);
                return;
            }

            lock (delays)
                delays.Add(value * 1000);
        });
        listener.Start();

        var script = Path.Combine(data.FullName, "writes.lua");
        await File.WriteAllTextAsync(script, """
            local threads = 0
            function setup(thread) thread:set("tid", threads); threads = threads + 1 end
            local counter = 0
            init = function(args) path = args[1]; mode = args[2]; n = tonumber(args[3]); run = args[4] end
            request = function()
              if mode == "logins" then return wrk.format("POST", "/users/" .. math.random(1, n) .. "/logins") end
              counter = counter + 1
              local name = "w" .. run .. "t" .. tid .. "n" .. counter
              return wrk.format("POST", path, {["Content-Type"] = "application/json"}, '{"username":"' .. name .. '","email":"' .. name .. '@example.com"}')
            end
            """);
        var rows = new (string Name, string Path, string Mode)[] { (WriteThrough, "/users", "create"), (WriteBehind, "/users/async", "create"), (Logins, "/users", "logins") }
            .Where(r => only is null || r.Name.Contains(only, StringComparison.Ordinal)).ToArray();
        var samples = rows.ToDictionary(r => r.Name, _ => new List<Sample>());
        var run = 0;
        var warmup = await WarmUpAsync(port, script, rows.Select(r => (r.Name, r.Path, r.Mode)).ToList(), queue, repository, () => ++run);
        for (var repeat = 0; repeat < repeats; repeat++)
        {
            foreach (var row in rows)
            {
                lock (delays)
                    delays.Clear();
                var before = Interlocked.Read(ref commands);
                var result = await Wrk.RunAsync(port, script, row.Path, row.Mode, SeedUsers, seconds, (++run).ToString(CultureInfo.InvariantCulture));
                await SettleAsync(queue, repository, row.Name);
                var used = Interlocked.Read(ref commands) - before;
                double? delayP99;
                lock (delays)
                    delayP99 = row.Name == WriteBehind && delays.Count > 0 ? Percentile(delays, 0.99) : null;
                var sample = new Sample(result.RequestsPerSecond, result.P50Ms, result.P99Ms, users is null ? null : (double)used / result.Requests, delayP99);
                samples[row.Name].Add(sample);
                Console.WriteLine($"  [writes] repeat {repeat + 1}: {row.Name,-36} {sample.RequestsPerSecond,8:F0} requests/s  p99 {sample.P99Ms:F2} ms  " +
                    $"commands/request {sample.CommandsPerRequest:F3}  delay p99 {sample.DelayP99Ms:F0} ms");
            }
        }

        await app.StopAsync();
        data.Delete(recursive: true);

        string Column(string row, Func<Sample, double?> figure, string format) =>
            samples[row].Select(figure).Where(v => v is not null).Select(v => v!.Value).ToList() is { Count: > 0 } values
                ? Report.Median(values).ToString(format, CultureInfo.InvariantCulture)
                : "";
        return Report.Write("writes", "Write paths of the API: requests/s (wrk -t2 -c64)", "requests/s", redisDescription,
            rows.ToDictionary(r => r.Name, r => samples[r.Name].Select(s => s.RequestsPerSecond).ToList()),
            $"database: {(users is null ? "SQLite file" : "PostgreSQL (throwaway, loopback, fsync off)")}, {SeedUsers:N0} users; {seconds} s per row and repeat after {warmup} " +
            $"discarded passes of 2 s per row (until the JIT spent under {WarmJitShare:P0} of a pass compiling, at most {MaxWarmupPasses} passes). " +
            "Creates use a new username each; logins pick a user uniformly. Commands per request are the database commands Npgsql ran " +
            "(its db.client.operation.duration count; none on SQLite) over requests, counted until the queue has drained, the login flush has run and the cache outbox is empty; " +
            "the write-behind delay is from acceptance (202) to applied, per write (histogram cacheflow.write_behind.delay), p99 over the row's writes.",
            [
                ("p50 ms", rows.ToDictionary(r => r.Name, r => Column(r.Name, s => s.P50Ms, "0.00"))),
                ("p99 ms", rows.ToDictionary(r => r.Name, r => Column(r.Name, s => s.P99Ms, "0.00"))),
                ("DB commands per request", rows.ToDictionary(r => r.Name, r => Column(r.Name, s => s.CommandsPerRequest, "0.000"))),
                ("write-behind delay p99 ms", rows.ToDictionary(r => r.Name, r => Column(r.Name, s => s.DelayP99Ms, "0"))),
            ]);
    }

    /// <summary>
    /// Runs discarded passes (2 s of each row) until the code is tiered up: until the JIT spent less than
    /// <see cref="WarmJitShare"/> of a pass compiling, at most <see cref="MaxWarmupPasses"/>. One pass was not enough:
    /// on a busy 2-core machine the JIT still took about a third of the API's CPU in the first measured row, and more
    /// the more code the request path has. Returns the passes run.
    /// </summary>
    private static async Task<int> WarmUpAsync(int port, string script, List<(string Name, string Path, string Mode)> rows, WriteBehindQueue queue, IUserRepository repository, Func<int> nextRun)
    {
        for (var pass = 1; ; pass++)
        {
            var compiled = JitInfo.GetCompilationTime();
            var started = Stopwatch.GetTimestamp();
            foreach (var row in rows)
            {
                await Wrk.RunAsync(port, script, row.Path, row.Mode, SeedUsers, 2, nextRun().ToString(CultureInfo.InvariantCulture));
                await SettleAsync(queue, repository, row.Name);
            }

            var compiling = JitInfo.GetCompilationTime() - compiled;
            var elapsed = Stopwatch.GetElapsedTime(started);
            Console.WriteLine($"  [writes] warm-up pass {pass}: the JIT compiled for {compiling.TotalMilliseconds:F0} ms in {elapsed.TotalSeconds:F1} s");
            if (compiling < elapsed * WarmJitShare || pass == MaxWarmupPasses)
                return pass;
        }
    }

    /// <summary>
    /// Waits until the queue has applied every accepted write (creates), or for the login flush to have run twice; then
    /// until the cache outbox is empty: each create leaves a row that the relay applies a second or two later (a
    /// removal of the user and of the list pages), which would otherwise run during the next row.
    /// </summary>
    private static async Task SettleAsync(WriteBehindQueue queue, IUserRepository repository, string row)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        if (row == Logins)
            await Task.Delay(TimeSpan.FromSeconds(2.5), deadline.Token);
        while (queue.Statistics is var s && s.Enqueued > s.Flushed + s.DeadLettered)
        {
            if (deadline.IsCancellationRequested)
                throw new InvalidOperationException($"The write-behind queue did not drain in 3 minutes: {s}");
            await Task.Delay(50, CancellationToken.None);
        }

        while ((await repository.OutboxUsersAsync(deadline.Token)).Count > 0)
            await Task.Delay(50, deadline.Token);
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }
}
