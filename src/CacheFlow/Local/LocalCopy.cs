using CacheFlow.Metrics;
using CacheFlow.Redis;

namespace CacheFlow.Local;

/// <summary>
/// An entry as the L1 keeps it: the stored bytes, the stamp they were read under, the tags that stamp covers, the hash
/// of its key (a hit needs it for the stamp, and so computes none), and — once a typed read deserialized it — the value
/// itself, shared by later typed reads if its type is immutable (<see cref="ImmutableType{T}"/>). A class, not a
/// record: the tag index tells copies of one key apart by reference.
/// </summary>
internal sealed class LocalCopy(StoredEntry stored, long stamp, IReadOnlyList<string> tags, ulong keyHash)
{
    private object? _value;

    public ulong KeyHash { get; } = keyHash;

    /// <summary>The counters of the key's family, found at the first hit and kept: later hits look nothing up.</summary>
    public FamilyCounters? Counters { get; set; }

    public StoredEntry Stored { get; } = stored;

    public long Stamp { get; } = stamp;

    public IReadOnlyList<string> Tags { get; } = tags;

    /// <summary>The deserialized value, if a typed read kept it; only ever an instance of an immutable type.</summary>
    public object? Value => Volatile.Read(ref _value);

    /// <summary>Keeps the value deserialized from these bytes for the next typed reads (the first one kept wins).</summary>
    public void Keep(object value) => Interlocked.CompareExchange(ref _value, value, null);
}
