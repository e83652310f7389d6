using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using CacheFlow.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CacheFlow.Api.Tests;

/// <summary>
/// The API on a six-node Redis Cluster (three primaries, a replica each) and PostgreSQL, under reads that load users
/// (each a miss, so each takes a lease) while two primaries are killed one after the other (SIGKILL; each time the
/// replica takes over). A load whose write-back met the dead primary leaves its lease; after each failover every user
/// read so far is read again, and a read of a key whose lease was left behind waits for it. Loaders now release such
/// a lease as soon as the new primary answers (<c>AbandonedLeases</c>; the mechanism and its control are shown one load
/// at a time in the library's <c>ClusterFailoverTests</c>), so no read waits for a lease anywhere near
/// <c>LeaseDuration</c>. Every response and every lease wait (<c>cacheflow.lease.wait</c>) is recorded and reported.
/// Whether a load is in flight on the killed primary at the kill is chance (a few are, most runs), so the control —
/// the release off, which made reads wait 7.0 and 7.3 s in two runs by hand — is not kept here: the library's is
/// deterministic.
/// </summary>
public sealed class ClusterFailoverLoadTests(PostgresFixture postgres, ITestOutputHelper output) : IClassFixture<PostgresFixture>, IAsyncDisposable
{
    private const int Workers = 4;
    private static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(10);

    private readonly TestResources _resources = new("cacheflow-cluster-failover-");

    public ValueTask DisposeAsync() => _resources.DisposeAsync();

    [Fact]
    public async Task WithTwoPrimariesKilledUnderLoadNoReadWaitsOnALeaseNearItsDurationAndNoneFails()
    {
        if (!RedisCluster.Available || postgres.Server is null)
            ServerRequirement.Unavailable("redis-server, redis-cli and PostgreSQL are not all installed (apt-get install redis-server postgresql)");
        var cluster = _resources.Track(await RedisCluster.StartAsync(replicas: 1, nodeTimeoutMs: 1000));
        var api = _resources.Track(new ApiFactory(_resources.Data.FullName, cluster.Configuration, await postgres.Server!.CreateDatabaseAsync(), new Dictionary<string, string>
        {
            ["Storage:SeedUsers"] = "5000",
            // The defaults, as deployed (the factory sets a generous timeout for tests not about faults).
            ["CacheFlow:RedisTimeout"] = "00:00:01",
            ["CacheFlow:LeaseDuration"] = LeaseDuration.ToString("c"),
            // No breaker: reads right after the failover reach Redis (an open circuit would send them around it for
            // its break, and a lease left behind would go unnoticed); the breaker has tests of its own.
            ["CacheFlow:CircuitBreakDuration"] = "00:00:00",
        }));
        var client = api.CreateClient();
        var waits = new ConcurrentBag<double>();
        using var listener = LeaseWaits(api.Services, waits);
        var reads = new ConcurrentBag<(HttpStatusCode Status, string XCache, double Ms)>();
        var nextId = 0;

        var killed = new List<int>();
        for (var round = 0; round < 2; round++)
        {
            // Loads under way, then a primary killed in their midst, then loads until its replica has taken over.
            using var stop = new CancellationTokenSource();
            var loading = Task.WhenAll(Enumerable.Range(0, Workers).Select(_ => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                    reads.Add(await ReadAsync(client, 1 + (Interlocked.Increment(ref nextId) % 5000)));
            })));
            await Task.Delay(1000, TestContext.Current.CancellationToken);
            var primary = (await cluster.PrimariesAsync()).First(p => !killed.Contains(p));
            var atKill = Volatile.Read(ref nextId);
            cluster.Kill(primary);
            killed.Add(primary);
            await cluster.WaitForFailoverAsync(primary);
            await stop.CancelAsync();
            await loading.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

            // The users read around the kill, then every other one read so far, read again: a key whose lease was left
            // behind makes its reader wait. Reads are numbered on past 5,000 (the second round), their users wrap.
            var issued = Volatile.Read(ref nextId);
            var read = Math.Min(issued, 5000);
            var first = Math.Max(1, atKill - 200);
            var around = Enumerable.Range(first, Math.Min(issued, atKill + 200) - first + 1).Select(n => 1 + (n % 5000)).Distinct().ToList();
            await Parallel.ForEachAsync(around.Concat(Enumerable.Range(1, read).Except(around)), new ParallelOptions { MaxDegreeOfParallelism = Workers, CancellationToken = TestContext.Current.CancellationToken },
                async (id, _) => reads.Add(await ReadAsync(client, id)));
        }

        var byStatus = reads.GroupBy(r => (int)r.Status).OrderBy(g => g.Key).Select(g => $"{g.Key}: {g.Count()}");
        var byCache = reads.GroupBy(r => r.XCache).OrderBy(g => g.Key).Select(g => $"{g.Key}: {g.Count()}");
        var sortedWaits = waits.Order().ToList();
        var latencies = reads.Select(r => r.Ms).Order().ToList();
        output.WriteLine($"{reads.Count} reads through two failovers ({string.Join(", ", byStatus)}; {string.Join(", ", byCache)}); read latency p99 "
            + $"{latencies[(int)(latencies.Count * 0.99)]:F0} ms, max {latencies[^1]:F0} ms; {sortedWaits.Count} lease waits"
            + (sortedWaits.Count > 0 ? $", p99 {sortedWaits[(int)(sortedWaits.Count * 0.99)] * 1000:F0} ms, max {sortedWaits[^1] * 1000:F0} ms" : ""));

        Assert.DoesNotContain(reads, r => (int)r.Status >= 500);
        Assert.All(reads, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        // Not a speed claim: a lease left behind would hold its readers for up to LeaseDuration (10 s); released, they
        // wait for the failover's end and one retry. Half the duration tells the two apart by a wide margin.
        Assert.True(sortedWaits.Count == 0 || sortedWaits[^1] < LeaseDuration.TotalSeconds / 2, $"a read waited {sortedWaits.LastOrDefault():F1} s for a lease");
    }

    private static async Task<(HttpStatusCode Status, string XCache, double Ms)> ReadAsync(HttpClient client, int id)
    {
        var started = Stopwatch.GetTimestamp();
        using var response = await client.GetAsync($"/users/{id}");
        await response.Content.ReadAsByteArrayAsync();
        return (response.StatusCode, response.XCache() ?? "", Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>Every lease wait the instance's cache records (its own meters only).</summary>
    private static MeterListener LeaseWaits(IServiceProvider services, ConcurrentBag<double> waits)
    {
        var meters = services.GetRequiredService<IMeterFactory>();
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Scope == meters && instrument.Name == "cacheflow.lease.wait")
                    l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<double>((_, value, _, _) => waits.Add(value));
        listener.Start();
        return listener;
    }
}
