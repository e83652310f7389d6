using CacheFlow.Redis;

namespace CacheFlow.Local;

/// <summary>
/// An entry as the L1 keeps it: the stored bytes, the stamp they were read under, the tags that stamp covers, and —
/// once a typed read deserialized it — the value itself, shared by later typed reads if its type is immutable
/// (<see cref="ImmutableType{T}"/>). A class, not a record: the tag index tells copies of one key apart by reference.
/// </summary>
internal sealed class LocalCopy(StoredEntry stored, long stamp, IReadOnlyList<string> tags)
{
    private object? _value;

    public StoredEntry Stored { get; } = stored;

    public long Stamp { get; } = stamp;

    public IReadOnlyList<string> Tags { get; } = tags;

    /// <summary>The deserialized value, if a typed read kept it; only ever an instance of an immutable type.</summary>
    public object? Value => Volatile.Read(ref _value);

    /// <summary>Keeps the value deserialized from these bytes for the next typed reads (the first one kept wins).</summary>
    public void Keep(object value) => Interlocked.CompareExchange(ref _value, value, null);
}
