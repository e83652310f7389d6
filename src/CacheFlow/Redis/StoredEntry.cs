using StackExchange.Redis;

namespace CacheFlow.Redis;

/// <summary>An entry as read from Redis: its decoded header and its stored bytes.</summary>
internal readonly record struct StoredEntry(CacheEntry Header, ReadOnlyMemory<byte> Bytes)
{
    public ReadOnlyMemory<byte> Json => Bytes[CacheEntry.HeaderSize..^Header.TagsLength];

    /// <summary>The tags the entry was written under, with their versions (<see cref="EntryTags"/>); empty if untagged.</summary>
    public ReadOnlyMemory<byte> Tags => Bytes[^Header.TagsLength..];

    public bool IsNull => Header.Flags.HasFlag(CacheEntryFlags.Null);

    /// <summary>Decodes a stored value; null for a missing key or a value in another format.</summary>
    public static StoredEntry? From(RedisValue value) =>
        !value.IsNull && CacheEntry.TryRead((ReadOnlyMemory<byte>)value, out var header, out _)
            ? new StoredEntry(header, (ReadOnlyMemory<byte>)value)
            : null;

    public Freshness At(long nowMs) =>
        nowMs >= Header.HardExpiresAt ? Freshness.Expired
        : nowMs >= Header.SoftExpiresAt ? Freshness.Stale
        : Header.Flags.HasFlag(CacheEntryFlags.Stale) ? Freshness.Throttled
        : Freshness.Fresh;

    public CacheResult Result(CacheOutcome outcome) => new(outcome, Json, IsNull);
}

/// <summary>Where an entry stands at a moment.</summary>
internal enum Freshness
{
    /// <summary>Before its soft expiry: served as a hit.</summary>
    Fresh,

    /// <summary>Kept after a failed refresh, before its (throttle) soft expiry: served as stale, no refresh yet.</summary>
    Throttled,

    /// <summary>Between soft and hard expiry: served as stale while one caller refreshes it.</summary>
    Stale,

    /// <summary>Past its hard expiry: unusable.</summary>
    Expired,
}
