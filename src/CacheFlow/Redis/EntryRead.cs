namespace CacheFlow.Redis;

/// <summary>What a read of an entry found: the entry (null if there is none, or none usable), and where the lease stands.</summary>
/// <param name="Entry">The entry, decoded; null for a miss.</param>
/// <param name="Lease">Whether the read took the lease it asked for, found another load's, or neither.</param>
/// <param name="Versions">With the lease taken on a tagged entry: its tags' versions, for the load to record.</param>
internal readonly record struct EntryRead(StoredEntry? Entry, LeaseState Lease, long[]? Versions = null);

/// <summary>Where a key's lease stands after a read.</summary>
internal enum LeaseState
{
    /// <summary>Not taken: there is an entry (usable or not), or the read did not ask for the lease.</summary>
    None,

    /// <summary>Taken by this read: it loads, and only its write-back may fill the entry.</summary>
    Taken,

    /// <summary>Another load holds it: this read waits for that load's value.</summary>
    Held,
}
