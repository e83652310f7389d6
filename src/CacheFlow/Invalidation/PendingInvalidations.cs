using System.Collections.Concurrent;

namespace CacheFlow.Invalidation;

/// <summary>
/// Invalidations that could not reach Redis yet: entry keys, tags and entry-key prefixes, each with the generation it
/// was last kept at. While one is pending, this instance's reads of what it covers bypass the cache (the old value
/// may still be in Redis), and a retry loop applies it once Redis answers. An invalidation kept again while a retry
/// of it is in flight gets a new generation, so that retry's success does not discard it: the later change's
/// invalidation is applied after its commit, never only before.
/// </summary>
internal sealed class PendingInvalidations
{
    private readonly ConcurrentDictionary<(InvalidationKind Kind, string Value), long> _pending = new();
    private long _generation;
    private int _count;

    /// <summary>How many invalidations wait.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Whether a read of <paramref name="entryKey"/> with <paramref name="tags"/> must bypass the cache.</summary>
    public bool Covers(string entryKey, IReadOnlyList<string> tags)
    {
        if (Count == 0)
            return false;
        foreach (var ((kind, value), _) in _pending)
        {
            var covered = kind switch
            {
                InvalidationKind.Key => value == entryKey,
                InvalidationKind.Prefix => entryKey.StartsWith(value, StringComparison.Ordinal),
                _ => tags.Contains(value, StringComparer.Ordinal),
            };
            if (covered)
                return true;
        }

        return false;
    }

    /// <summary>
    /// Whether a read of <paramref name="entryKey"/> whose tags are not known must bypass the cache: its key or a
    /// prefix of it is pending, or any tag is (the entry may carry it).
    /// </summary>
    public bool MayCover(string entryKey)
    {
        if (Count == 0)
            return false;
        foreach (var ((kind, value), _) in _pending)
        {
            if (kind == InvalidationKind.Tag || (kind == InvalidationKind.Key ? value == entryKey : entryKey.StartsWith(value, StringComparison.Ordinal)))
                return true;
        }

        return false;
    }

    /// <summary>Keeps an invalidation (again, with a new generation if it was already kept).</summary>
    public void Keep(InvalidationKind kind, string value)
    {
        var generation = Interlocked.Increment(ref _generation);
        if (_pending.TryAdd((kind, value), generation))
            Interlocked.Increment(ref _count);
        else
            _pending[(kind, value)] = generation;
    }

    /// <summary>What waits now, each with the generation to hand back to <see cref="Applied"/>.</summary>
    public IReadOnlyList<KeyValuePair<(InvalidationKind Kind, string Value), long>> Snapshot() => [.. _pending];

    /// <summary>Forgets an invalidation applied at the generation it had in the snapshot, unless it was kept again since.</summary>
    public void Applied(KeyValuePair<(InvalidationKind Kind, string Value), long> pending)
    {
        if (_pending.TryRemove(pending))
            Interlocked.Decrement(ref _count);
    }
}

/// <summary>What an invalidation covers.</summary>
internal enum InvalidationKind
{
    /// <summary>One entry key.</summary>
    Key,

    /// <summary>Every entry with a tag.</summary>
    Tag,

    /// <summary>Every entry key starting with a prefix.</summary>
    Prefix,
}
