namespace CacheFlow;

/// <summary>
/// Which levels one read or write may use (HybridCache's entry flags, turned around): every read of
/// <see cref="ICacheFlow"/> uses them all. A load that may not both read and write Redis runs without a lease
/// (nothing it could be checked against), shared only within this process.
/// </summary>
[Flags]
internal enum EntryPaths
{
    None = 0,
    LocalRead = 1,
    LocalWrite = 2,
    RemoteRead = 4,
    RemoteWrite = 8,
    Factory = 16,
    All = LocalRead | LocalWrite | RemoteRead | RemoteWrite | Factory,
}
