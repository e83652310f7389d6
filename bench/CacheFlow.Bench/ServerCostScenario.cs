using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using CacheFlow.Garnet;
using CacheFlow.Redis;
using CacheFlow.Testing;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CacheFlow.Bench;

/// <summary>
/// What each server costs per call: the plain commands and CacheFlow's scripts, then whole cache operations (a miss,
/// a write, an invalidation; HybridCache's miss beside CacheFlow's), on redis-server and on Garnet with each of the
/// embedded server's options on and off. Every server runs in a process of its own (Garnet in a child of this one,
/// started as the API starts it), so the CPU it spends per call is read from <c>/proc</c>.
/// </summary>
public static class ServerCostScenario
{
    private const int Concurrency = 32;
    private static readonly string Payload = new('x', 300);

    /// <summary>A lease placeholder as a miss's read writes it: a marker byte and a token.</summary>
    private static readonly byte[] Placeholder = [0xFE, 1, 2, 3, 4, 5, 6, 7, 8];
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    /// <summary>The bench's child mode: a Garnet with this command line until standard input closes.</summary>
    public static void HostGarnet(IEnumerable<string> arguments)
    {
        using var server = EmbeddedGarnet.StartServer(arguments);
        Console.WriteLine("ready");
        Console.In.ReadToEnd();
    }

    /// <summary>Runs every operation on every server (or those whose names contain <paramref name="only"/> or <paramref name="servers"/>).</summary>
    public static async Task<string> RunAsync(int repeats, int calls, string? only = null, string? servers = null)
    {
        var operations = Operations.Where(o => only is null || o.Name.Contains(only, StringComparison.OrdinalIgnoreCase)).ToList();
        var data = Directory.CreateTempSubdirectory("cacheflow-servers-");
        var targets = new List<Target>();
        try
        {
            bool Wanted(string name) => servers is null || name.Contains(servers, StringComparison.OrdinalIgnoreCase);
            if (Wanted("redis-server, no persistence"))
                targets.Add(await Target.RedisAsync("redis-server, no persistence", ["--appendonly", "no"], null));
            if (Wanted("redis-server, appendfsync always"))
                targets.Add(await Target.RedisAsync("redis-server, appendfsync always", [], Directory.CreateDirectory(Path.Combine(data.FullName, "aof")).FullName));
            foreach (var (name, arguments) in GarnetVariants.Where(v => Wanted(v.Name)))
                targets.Add(await Target.GarnetAsync(name, arguments, Directory.CreateDirectory(Path.Combine(data.FullName, $"g{targets.Count}")).FullName));

            var results = new Dictionary<(string Operation, string Target), (List<double> Rate, List<double> Cpu)>();
            for (var repeat = 0; repeat < repeats; repeat++)
            {
                foreach (var operation in operations)
                {
                    foreach (var target in targets)
                    {
                        var (rate, cpu) = await target.MeasureAsync(operation, calls, $"r{repeat}:");
                        if (!results.TryGetValue((operation.Name, target.Name), out var cell))
                            results[(operation.Name, target.Name)] = cell = ([], []);
                        cell.Rate.Add(rate);
                        cell.Cpu.Add(cpu);
                        Console.WriteLine($"  [servers] repeat {repeat + 1}: {operation.Name,-28} {target.Name,-40} {rate,9:0} calls/s {cpu,7:0.0} µs server CPU");
                    }
                }
            }

            return Write(targets, operations, results, repeats, calls);
        }
        finally
        {
            foreach (var target in targets)
                await target.DisposeAsync();
            data.Delete(recursive: true);
        }
    }

    /// <summary>
    /// The embedded servers' command lines (the cache's, durable data's), and options taken away one at a time.
    /// Measured once and left out of the table: without the storage tier nothing moved beyond the noise;
    /// <c>--aof-commit-freq 1</c> (group commits every millisecond, waited for) made every write slower (a script 124
    /// calls/s, a transaction 4.3–6k/s).
    /// </summary>
    private static readonly (string Name, Func<int, string, List<string>> Arguments)[] GarnetVariants =
    [
        ("Garnet for the cache, as embedded", (port, _) => EmbeddedGarnet.CacheArguments(port)),
        ("cache, no --lua-transaction-mode", (port, _) => Without(EmbeddedGarnet.CacheArguments(port), "--lua-transaction-mode")),
        ("Garnet for durable data, as embedded", Durable(a => a)),
        ("durable, no --aof-commit-wait", Durable(a => Without(a, "--aof-commit-wait"))),
        ("durable, no AOF", Durable(a => Without(Without(a, "--aof-commit-wait"), "--aof"))),
        ("durable, no metrics sampling", Durable(a => Without(a, "--metrics-sampling-freq", 1))),
    ];

    private static Func<int, string, List<string>> Durable(Func<List<string>, List<string>> change) =>
        (port, directory) => change(EmbeddedGarnet.Arguments(port, directory, "256m", "16m", storageTier: true));

    private static List<string> Without(List<string> arguments, string option, int values = 0)
    {
        var at = arguments.IndexOf(option);
        return at < 0 ? arguments : [.. arguments.Take(at), .. arguments.Skip(at + 1 + values)];
    }

    /// <summary>The write-behind enqueue as a script, as it was before it became a transaction.</summary>
    private const string OldEnqueue = """
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        redis.call('LPUSH', KEYS[2], ARGV[3])
        return 1
        """;

    private sealed record Operation(string Name, Func<Context, long, Task> Call, Func<Context, long, Task>? Prepare = null);

    /// <summary>What one call runs: a server's connection, and the caches over it.</summary>
    private sealed record Context(IDatabase Db, ICacheFlow Flow, HybridCache Hybrid, string Prefix);

    private static readonly Operation[] Operations =
    [
        new("GET (hit)", (c, i) => c.Db.StringGetAsync($"{c.Prefix}hot:{i % 1000}"), (c, i) => i < 1000 ? c.Db.StringSetAsync($"{c.Prefix}hot:{i}", Payload) : Task.CompletedTask),
        new("SET PX", (c, i) => c.Db.StringSetAsync($"{c.Prefix}set:{i}", Payload, TimeSpan.FromMinutes(5))),
        new("SET NX GET (a miss's read, taking the lease)", (c, i) => c.Db.StringSetAndGetAsync($"{c.Prefix}{{e{i}}}", Placeholder, TimeSpan.FromSeconds(10), keepTtl: false, When.NotExists)),
        new("script: fill (a miss's write-back)", (c, i) => c.Db.ScriptEvaluateAsync(RedisScripts.Fill, [$"{c.Prefix}{{e{i}}}"], [Placeholder, Payload, 300_000])),
        new("script: write-through", (c, i) => c.Db.ScriptEvaluateAsync(RedisScripts.WriteThrough, [$"{c.Prefix}{{w{i}}}", $"{c.Prefix}{{w{i}}}:lease", $"{c.Prefix}{{w{i}}}:revoked"], [Payload, 300_000])),
        new("script: SET + LPUSH (the old enqueue)", (c, i) => c.Db.ScriptEvaluateAsync(OldEnqueue, [$"{c.Prefix}{{wb}}:status:{i}", $"{c.Prefix}{{wb}}:pending"], [Payload, 300_000, Payload])),
        new("MULTI/EXEC: SET + LPUSH (the enqueue)", (c, i) =>
        {
            var transaction = c.Db.CreateTransaction();
            _ = transaction.StringSetAsync($"{c.Prefix}{{wb}}:tstatus:{i}", Payload, TimeSpan.FromMinutes(5));
            _ = transaction.ListLeftPushAsync($"{c.Prefix}{{wb}}:tpending", Payload);
            return transaction.ExecuteAsync();
        }),
        new("script: delete (invalidate)", (c, i) => c.Db.ScriptEvaluateAsync(RedisScripts.Delete, [$"{c.Prefix}{{e{i}}}", $"{c.Prefix}{{e{i}}}:lease", $"{c.Prefix}{{e{i}}}:revoked"], [10_000])),
        new("CacheFlow miss", (c, i) => c.Flow.GetOrCreateAsync($"{c.Prefix}m:{i}", _ => ValueTask.FromResult(Payload)).AsTask()),
        new("HybridCache miss", (c, i) => c.Hybrid.GetOrCreateAsync($"{c.Prefix}h:{i}", _ => ValueTask.FromResult(Payload)).AsTask()),
        new("CacheFlow write-through", (c, i) => c.Flow.SetAsync($"{c.Prefix}m:{i}", Payload).AsTask()),
        new("CacheFlow invalidate", (c, i) => c.Flow.RemoveAsync($"{c.Prefix}m:{i}").AsTask()),
    ];

    private static string Write(List<Target> targets, List<Operation> operations, Dictionary<(string Operation, string Target), (List<double> Rate, List<double> Cpu)> results, int repeats, int calls)
    {
        var title = "Server cost per call: redis-server beside Garnet, each embedded option on and off";
        var markdown = new StringBuilder(Report.Header(title, "each server in a process of its own on loopback (Garnet 2.2.8 in a child of the harness, started with the API's command line and the change named)",
            $"{calls:N0} calls per cell at {Concurrency} in flight (after a warm-up of a tenth), {repeats} repeats alternating servers; each cell is the median calls/s, then the median µs of the server's CPU per call (from /proc)"));
        markdown.Append("| operation |").AppendJoin("", targets.Select(t => $" {t.Name} |")).AppendLine()
            .Append("| --- |").AppendJoin("", targets.Select(_ => " ---: |")).AppendLine();
        foreach (var operation in operations)
        {
            markdown.Append(CultureInfo.InvariantCulture, $"| {operation.Name} |");
            foreach (var target in targets)
            {
                var (rate, cpu) = results[(operation.Name, target.Name)];
                markdown.Append(CultureInfo.InvariantCulture, $" {Report.Median(rate):N0}/s, {Report.Median(cpu):0.0} µs |");
            }

            markdown.AppendLine();
        }

        var text = markdown.ToString();
        File.WriteAllText(Path.Combine(Report.RepositoryRoot(), "bench", "results", "servers.md"), text);
        return text;
    }

    /// <summary>One server under test, its connection and the caches over it.</summary>
    private sealed class Target : IAsyncDisposable
    {
        private readonly IAsyncDisposable? _redis;
        private readonly Process? _garnet;
        private readonly ConnectionMultiplexer _connection;
        private readonly CacheFlowCache _flow;
        private readonly ServiceProvider _hybrid;
        private readonly Context _context;

        private Target(string name, int processId, IAsyncDisposable? redis, Process? garnet, ConnectionMultiplexer connection)
        {
            (Name, ProcessId, _redis, _garnet, _connection) = (name, processId, redis, garnet, connection);
            _flow = new CacheFlowCache(connection, Options.Create(new CacheFlowOptions { KeyPrefix = "cf:", SerializerOptions = JsonSerializerOptions.Web }),
                TimeProvider.System, NullLogger<CacheFlowCache>.Instance);
            _hybrid = PeerCaches.Hybrid(connection, new HybridCacheEntryOptions { Expiration = TimeSpan.FromMinutes(5), Flags = HybridCacheEntryFlags.DisableLocalCache });
            _context = new Context(connection.GetDatabase(), _flow, _hybrid.GetRequiredService<HybridCache>(), "");
        }

        public string Name { get; }

        private int ProcessId { get; }

        public static async Task<Target> RedisAsync(string name, IReadOnlyList<string> arguments, string? appendOnlyDirectory)
        {
            var server = await RedisServer.StartAsync(appendOnlyDirectory, [.. arguments, "--maxmemory", "2gb"]);
            return new Target(name, server.ProcessId, server, null, await ConnectionMultiplexer.ConnectAsync(server.Configuration));
        }

        public static async Task<Target> GarnetAsync(string name, Func<int, string, List<string>> arguments, string directory)
        {
            var port = ServerProcess.FreeLoopbackPort();
            var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
            start.ArgumentList.Add(typeof(ServerCostScenario).Assembly.Location);
            start.ArgumentList.Add("garnet-host");
            foreach (var argument in arguments(port, directory))
                start.ArgumentList.Add(argument);
            var process = Process.Start(start)!;
            if (await process.StandardOutput.ReadLineAsync() != "ready")
                throw new InvalidOperationException($"{name} did not start");
            return new Target(name, process.Id, null, process, await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port}"));
        }

        /// <summary>Calls/s and µs of the server's CPU per call, over <paramref name="calls"/> calls (bounded in time too).</summary>
        public async Task<(double Rate, double Cpu)> MeasureAsync(Operation operation, int calls, string prefix)
        {
            var context = _context with { Prefix = prefix };
            if (operation.Prepare is { } prepare)
                await RunAsync(context, prepare, 0, calls);
            // The warm-up's keys are its own: the measured calls start where it stopped.
            await RunAsync(context, operation.Call, -calls / 10, 0);
            var cpuBefore = CpuTicks();
            var started = Stopwatch.GetTimestamp();
            var done = await RunAsync(context, operation.Call, 0, calls);
            var elapsed = Stopwatch.GetElapsedTime(started);
            var cpu = (CpuTicks() - cpuBefore) * 1_000_000.0 / 100 / done;
            return (done / elapsed.TotalSeconds, cpu);
        }

        private static async Task<long> RunAsync(Context context, Func<Context, long, Task> call, long from, long to)
        {
            var (next, done) = (from - 1, 0L);
            var deadline = Stopwatch.GetTimestamp() + (long)(Bound.TotalSeconds * Stopwatch.Frequency);
            await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(async _ =>
            {
                for (var i = Interlocked.Increment(ref next); i < to && Stopwatch.GetTimestamp() < deadline; i = Interlocked.Increment(ref next))
                {
                    await call(context, i);
                    Interlocked.Increment(ref done);
                }
            }));
            return done;
        }

        /// <summary>The server's user and system CPU time so far, in clock ticks (100 a second).</summary>
        private long CpuTicks()
        {
            var stat = File.ReadAllText($"/proc/{ProcessId}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }

        public async ValueTask DisposeAsync()
        {
            _flow.Dispose();
            await _hybrid.DisposeAsync();
            await _connection.DisposeAsync();
            if (_redis is not null)
                await _redis.DisposeAsync();
            if (_garnet is not null)
            {
                _garnet.StandardInput.Close();
                if (!_garnet.WaitForExit(10_000))
                    _garnet.Kill();
                _garnet.Dispose();
            }
        }
    }
}
