using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace CacheFlow.Redis;

/// <summary>
/// The tags a stored entry was written under, each with the version its tag had before the value was read from the
/// source: the entry's trailer. A removal by tag gives the tag a new version; an entry is served only while every
/// tag it carries still has the version it recorded, and a tag whose version is gone (evicted, expired) has none, so
/// its entries are misses. Tag invalidation so fails closed: it needs neither the tag's index (which Redis may evict
/// under <c>allkeys-lru</c> while the entries stay) nor the load in flight to be known to the removal.
/// </summary>
/// <remarks>Layout, per tag (little-endian): version (8 bytes), length of the name in bytes (4), the name in UTF-8.</remarks>
internal static class EntryTags
{
    private const int Fixed = 12;

    /// <summary>
    /// <paramref name="entry"/> (header room and payload) followed by the trailer of <paramref name="tags"/> at
    /// <paramref name="versions"/>, in a new buffer; <paramref name="length"/> is the trailer's, for the header.
    /// </summary>
    public static Memory<byte> Append(ReadOnlyMemory<byte> entry, IReadOnlyList<string> tags, IReadOnlyList<long> versions, out int length)
    {
        length = 0;
        for (var i = 0; i < tags.Count; i++)
            length += Fixed + Encoding.UTF8.GetByteCount(tags[i]);
        var buffer = new byte[entry.Length + length];
        entry.Span.CopyTo(buffer);
        var at = entry.Length;
        for (var i = 0; i < tags.Count; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(at), versions[i]);
            var written = Encoding.UTF8.GetBytes(tags[i], buffer.AsSpan(at + Fixed));
            BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(at + 8), written);
            at += Fixed + written;
        }

        return buffer;
    }

    /// <summary><paramref name="entry"/> followed by another entry's trailer, as it is, in a new buffer.</summary>
    public static Memory<byte> Append(ReadOnlyMemory<byte> entry, ReadOnlyMemory<byte> trailer)
    {
        var buffer = new byte[entry.Length + trailer.Length];
        entry.Span.CopyTo(buffer);
        trailer.Span.CopyTo(buffer.AsSpan(entry.Length));
        return buffer;
    }

    /// <summary>
    /// Whether a trailer holds exactly <paramref name="tags"/>, in order, at <paramref name="versions"/> (the current
    /// ones; a null version, a tag whose version is gone, never matches).
    /// </summary>
    public static bool Match(ReadOnlySpan<byte> trailer, IReadOnlyList<string> tags, IReadOnlyList<long?> versions)
    {
        var i = 0;
        while (trailer.Length > 0)
        {
            if (i == tags.Count || trailer.Length < Fixed)
                return false;
            var length = BinaryPrimitives.ReadInt32LittleEndian(trailer[8..]);
            if (length < 0 || length > trailer.Length - Fixed || versions[i] != BinaryPrimitives.ReadInt64LittleEndian(trailer) || !NameIs(trailer.Slice(Fixed, length), tags[i]))
                return false;
            trailer = trailer[(Fixed + length)..];
            i++;
        }

        return i == tags.Count;
    }

    /// <summary>The names in a trailer, in order (empty for an untagged entry).</summary>
    public static string[] Names(ReadOnlySpan<byte> trailer)
    {
        var names = new List<string>();
        while (trailer.Length >= Fixed)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(trailer[8..]);
            if (length < 0 || length > trailer.Length - Fixed)
                break;
            names.Add(Encoding.UTF8.GetString(trailer.Slice(Fixed, length)));
            trailer = trailer[(Fixed + length)..];
        }

        return [.. names];
    }

    private static bool NameIs(ReadOnlySpan<byte> name, string tag)
    {
        if (Encoding.UTF8.GetByteCount(tag) != name.Length)
            return false;
        var rented = name.Length > 256 ? ArrayPool<byte>.Shared.Rent(name.Length) : null;
        try
        {
            var encoded = rented is null ? stackalloc byte[name.Length] : rented.AsSpan(0, name.Length);
            Encoding.UTF8.GetBytes(tag, encoded);
            return encoded.SequenceEqual(name);
        }
        finally
        {
            if (rented is not null)
                ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
