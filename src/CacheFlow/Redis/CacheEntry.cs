using System.Buffers.Binary;

namespace CacheFlow.Redis;

/// <summary>
/// The stored form of an entry: a fixed header, then the value as UTF-8 JSON. The payload starts at a fixed
/// offset, so a hit is sliced, not parsed, and written to the response as it is.
/// </summary>
/// <remarks>
/// Layout (little-endian): format (1 byte), flags (1), soft expiry as Unix ms (8), hard expiry as Unix ms (8),
/// load duration in ms (4), version (8, the lease token of the load that wrote it), payload. The soft expiry, load duration and version are there for
/// stale-while-revalidate, probabilistic early refresh and lease-checked write-back.
/// </remarks>
internal readonly record struct CacheEntry(CacheEntryFlags Flags, long SoftExpiresAt, long HardExpiresAt, int LoadMilliseconds, long Version)
{
    public const byte Format = 1;
    public const int HeaderSize = 30;

    public void WriteHeader(Span<byte> destination)
    {
        destination[0] = Format;
        destination[1] = (byte)Flags;
        BinaryPrimitives.WriteInt64LittleEndian(destination[2..], SoftExpiresAt);
        BinaryPrimitives.WriteInt64LittleEndian(destination[10..], HardExpiresAt);
        BinaryPrimitives.WriteInt32LittleEndian(destination[18..], LoadMilliseconds);
        BinaryPrimitives.WriteInt64LittleEndian(destination[22..], Version);
    }

    /// <summary>Reads a stored entry; false for anything this version did not write (another format, a foreign value).</summary>
    public static bool TryRead(ReadOnlyMemory<byte> stored, out CacheEntry entry, out ReadOnlyMemory<byte> payload)
    {
        var span = stored.Span;
        if (span.Length < HeaderSize || span[0] != Format)
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
            BinaryPrimitives.ReadInt64LittleEndian(span[22..]));
        payload = stored[HeaderSize..];
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
