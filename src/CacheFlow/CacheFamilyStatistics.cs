namespace CacheFlow;

/// <summary>Counts of what the cache did for one key family (or for all of them) since the process started.</summary>
/// <param name="Hits">Reads answered from the cache.</param>
/// <param name="Misses">Reads the cache could not answer, so the factory ran and the value was cached.</param>
/// <param name="Loads">Factory calls (each one a call to the source of truth, such as the database).</param>
/// <param name="LoadFailures">Factory calls that threw.</param>
/// <param name="Bypasses">Reads served from the factory because Redis could not be reached.</param>
/// <param name="Errors">Redis operations that failed (each logged as a warning).</param>
public sealed record CacheFamilyStatistics(long Hits, long Misses, long Loads, long LoadFailures, long Bypasses, long Errors)
{
    /// <summary>Hits over hits plus misses, from 0 to 1; 0 before the first read.</summary>
    public double HitRatio => Hits + Misses == 0 ? 0 : (double)Hits / (Hits + Misses);

    /// <summary>All reads: hits, misses and bypasses.</summary>
    public long Reads => Hits + Misses + Bypasses;

    internal static CacheFamilyStatistics Sum(IEnumerable<CacheFamilyStatistics> all) =>
        all.Aggregate(new CacheFamilyStatistics(0, 0, 0, 0, 0, 0), (a, b) => new(
            a.Hits + b.Hits, a.Misses + b.Misses, a.Loads + b.Loads,
            a.LoadFailures + b.LoadFailures, a.Bypasses + b.Bypasses, a.Errors + b.Errors));
}
