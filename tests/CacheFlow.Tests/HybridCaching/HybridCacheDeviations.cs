namespace CacheFlow.Tests.HybridCaching;

/// <summary>
/// Where a target is known to depart from HybridCache's documentation. A test whose rule a target breaks skips only
/// the broken part for that target, so the departure is written down in one place instead of hidden in a test.
/// </summary>
[Flags]
public enum HybridCacheDeviations
{
    None = 0,

    /// <summary>
    /// After RemoveByTagAsync (a tag, or "*") on one instance, another instance reading the entry from the L2 still
    /// serves it. The documentation says entries removed by tag are invalidated in the L2, and that only the other
    /// servers' in-memory caches keep them.
    /// </summary>
    ServesTagInvalidatedEntriesFromL2 = 1,

    /// <summary>
    /// A value larger than MaximumPayloadBytes is kept in the L1 of the instance that loaded it (though not written to
    /// the L2). The documentation says such a value "isn't stored in the cache".
    /// </summary>
    KeepsOversizedPayloadsInL1 = 2,
}
