namespace CacheFlow;

/// <summary>Counts of what the cache did for one key family (or for all of them) since the process started.</summary>
/// <param name="Hits">Reads answered from the cache with a fresh value.</param>
/// <param name="Misses">Reads that found no usable value and waited for a load (their own or a shared one).</param>
/// <param name="Stale">Reads answered with a stale value (during a refresh, or kept after a failed one).</param>
/// <param name="Loads">Factory calls (each one a call to the source of truth, such as the database).</param>
/// <param name="LoadFailures">Factory calls that threw.</param>
/// <param name="Bypasses">Reads served from the factory because Redis could not be reached.</param>
/// <param name="Errors">Redis operations that failed (each logged as a warning).</param>
/// <param name="LeaseLost">Write-backs refused because an invalidation revoked the load's lease (a stale set prevented).</param>
public sealed record CacheFamilyStatistics(long Hits, long Misses, long Stale, long Loads, long LoadFailures, long Bypasses, long Errors, long LeaseLost)
{
    /// <summary>How many of the hits the in-process L1 answered.</summary>
    public long LocalHits { get; init; }

    /// <summary>Hits over hits plus misses, from 0 to 1; 0 before the first read.</summary>
    public double HitRatio => Hits + Misses == 0 ? 0 : (double)Hits / (Hits + Misses);

    /// <summary>All reads: hits, misses, stale reads and bypasses.</summary>
    public long Reads => Hits + Misses + Stale + Bypasses;

    internal CacheFamilyStatistics Minus(CacheFamilyStatistics? baseline) => baseline is null ? this : new(
        Hits - baseline.Hits, Misses - baseline.Misses, Stale - baseline.Stale, Loads - baseline.Loads,
        LoadFailures - baseline.LoadFailures, Bypasses - baseline.Bypasses, Errors - baseline.Errors, LeaseLost - baseline.LeaseLost)
    {
        LocalHits = LocalHits - baseline.LocalHits,
    };

    internal static CacheFamilyStatistics Sum(IEnumerable<CacheFamilyStatistics> all) =>
        all.Aggregate(new CacheFamilyStatistics(0, 0, 0, 0, 0, 0, 0, 0), (a, b) => new(
            a.Hits + b.Hits, a.Misses + b.Misses, a.Stale + b.Stale, a.Loads + b.Loads,
            a.LoadFailures + b.LoadFailures, a.Bypasses + b.Bypasses, a.Errors + b.Errors, a.LeaseLost + b.LeaseLost)
        {
            LocalHits = a.LocalHits + b.LocalHits,
        });
}
