using System.Buffers.Binary;

namespace CacheFlow.Redis;

/// <summary>
/// The stored form of an entry: a fixed header, then the value as UTF-8 JSON, then (for a tagged entry) its tags. The
/// payload starts at a fixed offset and its end is in the header, so a hit is sliced, not parsed, and written to the
/// response as it is.
/// </summary>
/// <remarks>
/// Layout (little-endian): format (1 byte), flags (1), soft expiry as Unix ms (8), hard expiry as Unix ms (8),
/// load duration in ms (4), version (8, the lease token of the load that wrote it), length of the tags (4), payload,
/// tags (<see cref="EntryTags"/>). The soft expiry, load duration and version are there for stale-while-revalidate,
/// probabilistic early refresh and lease-checked write-back; the tags, with the version each had when the value was
/// read from the source, for tag invalidation that fails closed.
/// </remarks>
internal readonly record struct CacheEntry(CacheEntryFlags Flags, long SoftExpiresAt, long HardExpiresAt, int LoadMilliseconds, long Version, int TagsLength = 0)
{
    /// <summary>The layout this version writes and reads; an entry of format 1 (before tags were stored) is a miss.</summary>
    public const byte Format = 2;
    public const int HeaderSize = 34;

    public void WriteHeader(Span<byte> destination)
    {
        destination[0] = Format;
        destination[1] = (byte)Flags;
        BinaryPrimitives.WriteInt64LittleEndian(destination[2..], SoftExpiresAt);
        BinaryPrimitives.WriteInt64LittleEndian(destination[10..], HardExpiresAt);
        BinaryPrimitives.WriteInt32LittleEndian(destination[18..], LoadMilliseconds);
        BinaryPrimitives.WriteInt64LittleEndian(destination[22..], Version);
        BinaryPrimitives.WriteInt32LittleEndian(destination[30..], TagsLength);
    }

    /// <summary>Reads a stored entry; false for anything this version did not write (another format, a foreign value).</summary>
    public static bool TryRead(ReadOnlyMemory<byte> stored, out CacheEntry entry, out ReadOnlyMemory<byte> payload)
    {
        var span = stored.Span;
        var tagsLength = span.Length >= HeaderSize ? BinaryPrimitives.ReadInt32LittleEndian(span[30..]) : -1;
        if (span.Length < HeaderSize || span[0] != Format || tagsLength < 0 || tagsLength > span.Length - HeaderSize)
        {
            entry = default;
            payload = default;
            return false;
        }

        entry = new CacheEntry(
            (CacheEntryFlags)span[1],
            BinaryPrimitives.ReadInt64LittleEndian(span[2..]),
            BinaryPrimitives.ReadInt64LittleEndian(span[10..]),
            BinaryPrimitives.ReadInt32LittleEndian(span[18..]),
            BinaryPrimitives.ReadInt64LittleEndian(span[22..]),
            tagsLength);
        payload = stored[HeaderSize..^tagsLength];
        return true;
    }
}

/// <summary>Flags of a stored entry.</summary>
[Flags]
internal enum CacheEntryFlags : byte
{
    None = 0,

    /// <summary>The value is null (a cached "not found").</summary>
    Null = 1,

    /// <summary>The value is stale, kept after a failed refresh (fail-safe); it is served as stale even before its soft expiry.</summary>
    Stale = 2,
}
