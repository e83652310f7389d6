namespace CacheFlow;

/// <summary>What a conditional Redis write came to: a write-back, a write-through, a lease's release.</summary>
internal enum Verdict
{
    /// <summary>Redis took it: written, or released.</summary>
    Done,

    /// <summary>Redis refused it: the lease was lost (an invalidation revoked it), or an invalidation came just before a write-through.</summary>
    Refused,

    /// <summary>Redis did not answer (down, hung, circuit open): whether it ran is unknown.</summary>
    Failed,
}
