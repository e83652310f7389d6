namespace CacheFlow;

/// <summary>A snapshot of the cache's counters, in total and by key family.</summary>
/// <param name="Total">The sums over all families.</param>
/// <param name="Families">The counters of each key family seen so far.</param>
public sealed record CacheStatistics(CacheFamilyStatistics Total, IReadOnlyDictionary<string, CacheFamilyStatistics> Families)
{
    /// <summary>
    /// Invalidations that Redis has not taken yet (it failed or hung when they were made): they are retried, and this
    /// instance's reads of what they cover bypass the cache until they are applied.
    /// </summary>
    public int PendingInvalidations { get; init; }
}
