namespace CacheFlow;

/// <summary>What kind of load runs for a key: the one choice that decides its steps (<see cref="CacheFlowCache"/>'s <c>KeyLoad</c>).</summary>
internal enum LoadMode
{
    /// <summary>A miss: under the key's lease (taken by the read, or waited for and taken), written back if it still holds.</summary>
    Load,

    /// <summary>A stale entry's refresh: under the lease key beside the entry; gives up if another process refreshes it.</summary>
    Refresh,

    /// <summary>Redis just failed: the source is read and nothing is cached.</summary>
    WithoutRedis,

    /// <summary>Paths that leave out reading or writing Redis: no lease (nothing to check it against), shared in this process only.</summary>
    Leaseless,
}
