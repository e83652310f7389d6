using Microsoft.Extensions.Caching.Hybrid;

namespace CacheFlow.Tests.HybridCaching;

/// <summary>
/// A history check through the <see cref="HybridCache"/> API: two instances, each with writers that change the
/// source and then remove the changed key or its tag (as an app must), and readers that read through
/// <c>GetOrCreateAsync</c> with a factory that reads the source. A read must never return a version older than one
/// its own instance acknowledged removing before the read started. (Another instance's L1 learns of a removal by a
/// message that takes its time, so reads are held to their own instance's removals; the other instance's loads and
/// write-backs still race them through the shared L2.)
/// </summary>
public abstract partial class HybridCacheConformance
{
    private const int HistoryKeys = 4;

    /// <summary>Runs the history for <paramref name="duration"/> (or until a stale read, if <paramref name="untilStale"/>); returns what it counted.</summary>
    private protected async Task<(int Writes, int Reads, int Loads, int Stale, string? First)> RunHistoryAsync(TimeSpan duration, bool untilStale)
    {
        var source = new long[HistoryKeys];
        long next = 0;
        int writes = 0, reads = 0, loads = 0, stale = 0;
        string? first = null;
        using var stop = new CancellationTokenSource(duration);
        var options = new HybridCacheEntryOptions { Expiration = TimeSpan.FromMinutes(1), LocalCacheExpiration = TimeSpan.FromMinutes(1) };

        var workers = new List<Task>();
        foreach (var cache in new[] { NewInstance(), NewInstance() })
        {
            // Per key, the newest version this instance acknowledged removing: a read that starts after must see it or newer.
            var acknowledged = new long[HistoryKeys];
            workers.Add(Task.Run(() => WriteAsync(cache, acknowledged)));
            for (var reader = 0; reader < 2; reader++)
                workers.Add(Task.Run(() => ReadAsync(cache, acknowledged)));
        }

        await Bounded(Task.WhenAll(workers));
        return (writes, reads, loads, stale, first);

        async Task WriteAsync(HybridCache cache, long[] acknowledged)
        {
            while (!stop.IsCancellationRequested)
            {
                var i = Random.Shared.Next(HistoryKeys);
                var version = Interlocked.Increment(ref next);
                Raise(ref source[i], version);
                if (Random.Shared.Next(2) == 0)
                    await cache.RemoveAsync(HistoryKey(i));
                else
                    await cache.RemoveByTagAsync(HistoryTag(i));
                Raise(ref acknowledged[i], version);
                Interlocked.Increment(ref writes);
                await Task.Delay(1);
            }
        }

        async Task ReadAsync(HybridCache cache, long[] acknowledged)
        {
            while (!stop.IsCancellationRequested)
            {
                var i = Random.Shared.Next(HistoryKeys);
                var required = Volatile.Read(ref acknowledged[i]);
                var read = await cache.GetOrCreateAsync(HistoryKey(i), async _ =>
                {
                    Interlocked.Increment(ref loads);
                    var version = Volatile.Read(ref source[i]);
                    // A load sometimes takes a moment after its read of the source, as a query does: the window a removal falls in.
                    if (Random.Shared.Next(4) == 0)
                        await Task.Delay(1);
                    return new Frozen((int)version, $"v{version}");
                }, options, [HistoryTag(i)]);
                Interlocked.Increment(ref reads);
                // An L1 hit completes synchronously: without a yield, readers would starve the writers of the two cores.
                await Task.Yield();
                if (read.Id < required && Interlocked.Increment(ref stale) == 1)
                {
                    first = $"{HistoryKey(i)} read v{read.Id} after v{required} was acknowledged";
                    if (untilStale)
                        await stop.CancelAsync();
                }
            }
        }
    }

    private static string HistoryKey(int i) => $"history:{i}";

    private static string HistoryTag(int i) => $"history-tag:{i % 2}";

    /// <summary>Raises <paramref name="location"/> to <paramref name="value"/> if it is lower.</summary>
    private static void Raise(ref long location, long value)
    {
        for (var seen = Volatile.Read(ref location); seen < value; seen = Volatile.Read(ref location))
        {
            if (Interlocked.CompareExchange(ref location, value, seen) == seen)
                return;
        }
    }

    [Fact]
    public async Task NoReadReturnsAValueOlderThanARemovalItsInstanceAcknowledgedBeforeItStarted()
    {
        var (writes, reads, loads, stale, first) = await RunHistoryAsync(TimeSpan.FromSeconds(KeepsNoStaleSet ? 3 : 10), untilStale: !KeepsNoStaleSet);
        TestContext.Current.TestOutputHelper?.WriteLine($"{writes} writes, {reads} reads, {loads} loads, {stale} stale; the first: {first}");

        if (KeepsNoStaleSet)
        {
            // Not vacuous: the writers wrote, the readers read, and the cache answered some reads without a load.
            Assert.InRange(writes, 20, int.MaxValue);
            Assert.InRange(reads, 200, int.MaxValue);
            Assert.InRange(loads, 1, reads - 1);
            Assert.True(stale == 0, $"{stale} stale reads of {reads}; the first: {first}");
        }
        else
        {
            Assert.True(stale > 0, $"the control found no stale read in {reads} reads");
        }
    }
}
