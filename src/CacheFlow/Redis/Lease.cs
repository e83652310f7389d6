using System.Buffers.Binary;
using StackExchange.Redis;

namespace CacheFlow.Redis;

/// <summary>
/// A load's lease on a key: the right to write its value back, revoked by any invalidation in between.
/// </summary>
/// <remarks>
/// A miss holds it in the entry's own key (<see cref="InEntry"/>): the read that found no entry wrote a placeholder
/// there (<c>SET NX GET</c>, one plain command that is also the read, so a lone miss pays no round trip for its
/// lease). A refresh, or a load past an entry that is there but unusable (another format, tags outdated), holds it
/// in the entry's lease key (<see cref="CacheKeys.Lease"/>), beside the entry, which stays readable. Either way an
/// invalidation deletes it (the entry key and the lease key both), and the write-back lands only while it holds its
/// token.
/// </remarks>
internal readonly record struct Lease(string EntryKey, long Token, bool InEntry)
{
    /// <summary>The placeholder's length: a marker byte and the token. Shorter than any entry's header, so no reader takes it for one.</summary>
    private const int PlaceholderLength = 9;
    private const byte PlaceholderMarker = 0xFE;

    /// <summary>The key that holds the lease.</summary>
    public RedisKey Key => InEntry ? EntryKey : CacheKeys.Lease(EntryKey);

    /// <summary>What that key holds while the lease is this load's (a placeholder made afresh: the lease stays small where it is copied).</summary>
    public RedisValue Value => InEntry ? Placeholder(Token) : Token;

    /// <summary>A lease in the entry key with a fresh token, to try for with a read.</summary>
    public static Lease ForRead(string entryKey) => new(entryKey, NewToken(), InEntry: true);

    /// <summary>A lease in the entry's lease key with a fresh token.</summary>
    public static Lease Beside(string entryKey) => new(entryKey, NewToken(), InEntry: false);

    public static long NewToken() => Random.Shared.NextInt64(1, long.MaxValue);

    /// <summary>Whether a value read from an entry key is another load's placeholder (its lease held in the entry).</summary>
    public static bool IsPlaceholder(RedisValue value)
    {
        if (value.IsNull)
            return false;
        var bytes = ((ReadOnlyMemory<byte>)value).Span;
        return bytes.Length == PlaceholderLength && bytes[0] == PlaceholderMarker;
    }

    private static byte[] Placeholder(long token)
    {
        var placeholder = new byte[PlaceholderLength];
        placeholder[0] = PlaceholderMarker;
        BinaryPrimitives.WriteInt64LittleEndian(placeholder.AsSpan(1), token);
        return placeholder;
    }
}
