using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CacheFlow.Api.Tests.History;
using CacheFlow.Testing;
using Microsoft.Extensions.Logging;

namespace CacheFlow.Api.Tests;

/// <summary>
/// A history-checking soak: two API instances over one redis-server (append-only) and one PostgreSQL database (or
/// one SQLite file, the embedded default's database: the embedded Garnet cannot be stopped apart from its API);
/// writers PATCH a few users with increasing versions, readers GET them, each through either instance at random; in
/// the middle the redis-server is stopped (<c>kill -STOP</c>, a hung Redis) for a few seconds, then continued. Every
/// operation is recorded (start, end, instance, key, version) and the history is checked for reads older than a write
/// acknowledged before they started (<see cref="HistoryChecker"/>).
/// </summary>
public sealed class HistorySoakTests
{
    private const int Keys = 3;
    private const int Writers = 2;
    private const int Readers = 4;
    private const int MaxOperationsPerWorker = 2_000;

    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(12);
    private static readonly TimeSpan StallAt = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Stall = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan LocalMaxAge = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The L1's allowance beyond its maximum age. A copy is served until <c>stored + LocalMaxAge</c>. A read it answers
    /// stale started after the write's acknowledgment; the copy was stored either before that acknowledgment, or after
    /// it but before the invalidation message reached this instance (the copy's stamp, taken before its Redis read,
    /// drops it when the message arrives), provided Redis itself held no older value by then (what the L1-off soak
    /// checks). So the lag is below the maximum age
    /// plus the bus's delivery time: a few milliseconds on loopback, tens on two busy cores. 100 ms covers that and the
    /// two clocks (the L1 expires on the wall clock at millisecond precision, the history is on the stopwatch).
    /// </summary>
    private static readonly TimeSpan LocalMargin = TimeSpan.FromMilliseconds(100);

    [Fact]
    public async Task WithTheL1OffNoReadIsOlderThanAWriteAcknowledgedBeforeItStartedThroughAHungRedis()
    {
        var soak = await SoakAsync("l1-off", localCache: false);

        Assert.DoesNotContain(soak.History, o => o.Failed);
        Assert.True(soak.Stale.Count == 0, $"{soak.Stale.Count} stale reads:\n{string.Join('\n', soak.Stale.Take(20))}");
    }

    [Fact]
    public async Task OnSqliteWithTheL1OffNoReadIsOlderThanAWriteAcknowledgedBeforeItStartedThroughAHungRedis()
    {
        var soak = await SoakAsync("sqlite-l1-off", localCache: false, sqlite: true);

        Assert.DoesNotContain(soak.History, o => o.Failed);
        Assert.True(soak.Stale.Count == 0, $"{soak.Stale.Count} stale reads:\n{string.Join('\n', soak.Stale.Take(20))}");
    }

    [Fact]
    public async Task WithTheL1OnNoReadIsOlderThanTheLocalMaxAgeThroughAHungRedis()
    {
        var soak = await SoakAsync("l1-on", localCache: true);

        Assert.DoesNotContain(soak.History, o => o.Failed);
        var beyond = soak.Stale.Where(s => s.Lag > LocalMaxAge + LocalMargin).ToList();
        Assert.True(beyond.Count == 0, $"{beyond.Count} reads older than {(LocalMaxAge + LocalMargin).TotalMilliseconds} ms:\n{string.Join('\n', beyond.Take(20))}");
    }

    /// <summary>Runs the soak, checks its history, reports the counts, and checks the stall really happened.</summary>
    private static async Task<Soak> SoakAsync(string name, bool localCache, Dictionary<string, string>? extra = null, bool sqlite = false)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var data = Directory.CreateTempSubdirectory("cacheflow-soak-");
        try
        {
            await using var servers = await OwnServers.StartAsync(data.CreateSubdirectory("aof").FullName);
            if (servers is null)
                ServerRequirement.Unavailable("redis-server and PostgreSQL are not both installed (apt-get install redis-server postgresql)");
            // On SQLite both instances share one data folder, so one database file.
            var (redis, users) = (servers!.Redis, sqlite ? null : servers.Users);
            var settings = new Dictionary<string, string>
            {
                // The default timeout (ApiFactory sets a generous one for tests that are not about faults).
                ["CacheFlow:RedisTimeout"] = "00:00:01",
                ["CacheFlow:LocalCacheEnabled"] = localCache ? "true" : "false",
                ["CacheFlow:LocalMaxAge"] = LocalMaxAge.ToString("c", CultureInfo.InvariantCulture),
            };
            foreach (var (key, value) in extra ?? [])
                settings[key] = value;
            // What the hosts logged as errors goes in the report: a failed request's cause is in its host's log.
            var logs = new CapturingLoggerProvider();
            await using var first = new ApiFactory(data.CreateSubdirectory(sqlite ? "shared" : "a").FullName, redis.Configuration, users, settings, logs: logs);
            await using var second = new ApiFactory(data.CreateSubdirectory(sqlite ? "shared" : "b").FullName, redis.Configuration, users, settings, logs: logs);
            // One at a time: the first creates and seeds the schema.
            HttpClient[] clients = [first.CreateClient(), second.CreateClient()];

            var soak = await new SoakRun(clients, redis, cancellationToken).RunAsync();
            var report = soak.Report(name) + string.Join('\n', logs.Entries.Where(e => e.Level >= LogLevel.Error)
                .Select(e => $"{e.Level} {e.Category}: {e.Message}\n{e.Exception}"));
            TestContext.Current.TestOutputHelper?.WriteLine(report);
            var artifacts = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "artifacts"));
            var file = Path.Combine(artifacts.FullName, $"history-soak-{name}");
            await File.WriteAllTextAsync(file + ".txt", report, cancellationToken);
            await File.WriteAllLinesAsync(file + ".csv", soak.Csv(), cancellationToken);

            // The fault took effect: reads during the stall went around Redis, and writes were acknowledged during it.
            Assert.Contains(soak.History, o => !o.IsWrite && soak.PhaseOf(o) == Phase.Stall && o.XCache == "BYPASS");
            Assert.Contains(soak.History, o => o.Acknowledged && soak.PhaseOf(o) == Phase.Stall);
            Assert.Contains(soak.History, o => !o.IsWrite && soak.PhaseOf(o) == Phase.After && o.Version is not null);
            return soak;
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    private enum Phase
    {
        Before,
        Stall,
        After,
    }

    /// <summary>The workers, the fault, and the shared clock of one soak.</summary>
    private sealed class SoakRun(HttpClient[] clients, RedisServer redis, CancellationToken cancellationToken)
    {
        private readonly long _origin = Stopwatch.GetTimestamp();
        private readonly ConcurrentQueue<HistoryOperation> _history = new();
        private readonly SemaphoreSlim[] _keyLocks = [.. Enumerable.Range(0, Keys + 1).Select(_ => new SemaphoreSlim(1, 1))];
        private readonly long[] _versions = new long[Keys + 1];
        private TimeSpan _stallStart = TimeSpan.MaxValue;
        private TimeSpan _stallEnd = TimeSpan.MaxValue;

        private TimeSpan Now => Stopwatch.GetElapsedTime(_origin);

        public async Task<Soak> RunAsync()
        {
            // Every key starts at version 1, acknowledged, before the workers start.
            for (var key = 1; key <= Keys; key++)
                await WriteAsync(key, new Random(key));

            var workers = new List<Task> { StallAsync() };
            for (var writer = 0; writer < Writers; writer++)
                workers.Add(WriteLoopAsync(new Random(100 + writer)));
            for (var reader = 0; reader < Readers; reader++)
                workers.Add(ReadLoopAsync(new Random(200 + reader)));
            await Task.WhenAll(workers);
            return new Soak([.. _history.OrderBy(o => o.Start)], _stallStart, _stallEnd);
        }

        /// <summary>Stops the redis-server at <see cref="StallAt"/> for <see cref="Stall"/>, then lets it run again.</summary>
        private async Task StallAsync()
        {
            await Task.Delay(StallAt, cancellationToken);
            _stallStart = Now;
            redis.Pause();
            try
            {
                await Task.Delay(Stall, cancellationToken);
            }
            finally
            {
                redis.Resume();
                _stallEnd = Now;
            }
        }

        private async Task WriteLoopAsync(Random random)
        {
            for (var i = 0; i < MaxOperationsPerWorker && Now < Duration; i++)
            {
                await WriteAsync(random.Next(1, Keys + 1), random);
                await Task.Delay(random.Next(5, 20), cancellationToken);
            }
        }

        private async Task ReadLoopAsync(Random random)
        {
            for (var i = 0; i < MaxOperationsPerWorker && Now < Duration; i++)
            {
                await ReadAsync(random.Next(1, Keys + 1), random.Next(clients.Length));
                await Task.Delay(random.Next(2, 8), cancellationToken);
            }
        }

        /// <summary>
        /// Writes the key's next version through a random instance. One write per key at a time, so versions of a key
        /// commit in increasing order; a version whose write was not acknowledged is skipped, not reused.
        /// </summary>
        private async Task WriteAsync(long key, Random random)
        {
            var instance = random.Next(clients.Length);
            await _keyLocks[key].WaitAsync(cancellationToken);
            try
            {
                var version = ++_versions[key];
                var email = string.Create(CultureInfo.InvariantCulture, $"v{version}-k{key}@soak.example.com");
                var start = Now;
                var status = 0;
                try
                {
                    using var response = await clients[instance].PatchAsJsonAsync($"/users/{key}", new { email }, cancellationToken);
                    status = (int)response.StatusCode;
                }
                catch (HttpRequestException)
                {
                    // Recorded as status 0: a failure, counted and asserted on like a 5xx.
                }

                _history.Enqueue(new HistoryOperation(true, instance, key, status is >= 200 and < 300 ? version : null, start, Now, status));
            }
            finally
            {
                _keyLocks[key].Release();
            }
        }

        private async Task ReadAsync(long key, int instance)
        {
            var start = Now;
            var status = 0;
            long? version = null;
            string? xCache = null;
            try
            {
                using var response = await clients[instance].GetAsync($"/users/{key}", cancellationToken);
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                status = (int)response.StatusCode;
                xCache = response.XCache();
                if (response.Headers.TryGetValues("X-Cache-Level", out var level))
                    xCache += "/" + level.Single();
                if (status == 200)
                    version = VersionOf(JsonDocument.Parse(body).RootElement.GetProperty("email").GetString()!);
            }
            catch (HttpRequestException)
            {
                // Recorded as status 0.
            }

            _history.Enqueue(new HistoryOperation(false, instance, key, version, start, Now, status, xCache));
        }

        /// <summary>The version an email carries (<c>v{n}-…</c>); 0 for a seeded user's own email.</summary>
        private static long VersionOf(string email) =>
            email.StartsWith('v') && email.IndexOf('-', StringComparison.Ordinal) is > 1 and var dash
                ? long.Parse(email.AsSpan(1, dash - 1), CultureInfo.InvariantCulture)
                : 0;
    }

    /// <summary>A soak's history, its stall, and what the checker found.</summary>
    private sealed class Soak(IReadOnlyList<HistoryOperation> history, TimeSpan stallStart, TimeSpan stallEnd)
    {
        public IReadOnlyList<HistoryOperation> History { get; } = history;

        public IReadOnlyList<StaleRead> Stale { get; } = HistoryChecker.StaleReads(history);

        public TimeSpan WorstLag => Stale.Count == 0 ? TimeSpan.Zero : Stale.Max(s => s.Lag);

        /// <summary>When the operation started, against the stall.</summary>
        public Phase PhaseOf(HistoryOperation operation) =>
            operation.Start < stallStart ? Phase.Before : operation.Start < stallEnd ? Phase.Stall : Phase.After;

        /// <summary>The history, one operation a line, for a look at what happened around a stale read.</summary>
        public IEnumerable<string> Csv() =>
            History.Select(o => string.Create(CultureInfo.InvariantCulture,
                $"{o.Start.TotalMilliseconds:F1},{o.End.TotalMilliseconds:F1},{(o.IsWrite ? "write" : "read")},{o.Instance},{o.Key},{o.Version},{o.Status},{o.XCache}"))
            .Prepend("start_ms,end_ms,kind,instance,key,version,status,x_cache");

        public string Report(string name)
        {
            var text = new StringBuilder();
            var reads = History.Where(o => !o.IsWrite).ToList();
            var writes = History.Where(o => o.IsWrite).ToList();
            text.AppendLine(CultureInfo.InvariantCulture,
                $"{name}: {reads.Count} reads, {writes.Count(w => w.Acknowledged)} writes acknowledged of {writes.Count}, " +
                $"{History.Count(o => o.Failed)} failed (5xx or thrown); stall {stallStart.TotalSeconds:F2}-{stallEnd.TotalSeconds:F2} s");
            foreach (var phase in Enum.GetValues<Phase>())
            {
                var phaseReads = reads.Where(r => PhaseOf(r) == phase).ToList();
                var byCache = string.Join(", ", phaseReads.GroupBy(r => r.XCache ?? $"status {r.Status}").OrderBy(g => g.Key, StringComparer.Ordinal)
                    .Select(g => $"{g.Key} {g.Count()}"));
                var slowest = phaseReads.Count == 0 ? 0 : phaseReads.Max(r => (r.End - r.Start).TotalMilliseconds);
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"  {phase}: {phaseReads.Count} reads ({byCache}; slowest {slowest:F0} ms), " +
                    $"{writes.Count(w => w.Acknowledged && PhaseOf(w) == phase)} writes acknowledged, " +
                    $"{Stale.Count(s => PhaseOf(s.Read) == phase)} stale reads");
            }

            text.AppendLine(CultureInfo.InvariantCulture,
                $"  stale reads: {Stale.Count}, worst lag {WorstLag.TotalMilliseconds:F1} ms");
            foreach (var stale in Stale.OrderByDescending(s => s.Lag).Take(10))
                text.AppendLine(CultureInfo.InvariantCulture, $"    {stale}");
            return text.ToString();
        }
    }
}
