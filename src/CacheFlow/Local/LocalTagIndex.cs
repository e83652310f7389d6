using System.Collections.Concurrent;

namespace CacheFlow.Local;

/// <summary>
/// Which L1 copies carry each tag, so removing a tag frees them at once. A copy is tracked while it is in the L1 and
/// untracked when it leaves (evicted, expired, removed, replaced), and a tag no copy carries is dropped: the index
/// holds at most the L1's entries times their tags.
/// </summary>
/// <remarks>
/// The index only frees memory early: the tag epochs in the copies' stamps are what stop a copy being served after
/// its tag was removed, so a copy the index missed in a race is never served stale, only kept until it leaves.
/// </remarks>
internal sealed class LocalTagIndex
{
    private readonly ConcurrentDictionary<string, TaggedCopies> _tags = new(StringComparer.Ordinal);

    /// <summary>How many tags some copy carries.</summary>
    public int Tags => _tags.Count;

    /// <summary>How many (tag, key) pairs are tracked.</summary>
    public int Pairs => _tags.Values.Sum(t => t.Count);

    /// <summary>Tracks <paramref name="copy"/>, about to be stored under <paramref name="key"/>, under its tags.</summary>
    public void Track(string key, object copy, IReadOnlyList<string> tags)
    {
        foreach (var tag in tags)
        {
            var copies = _tags.GetOrAdd(tag, static _ => new TaggedCopies());
            while (!copies.TryAdd(key, copy))
            {
                // Closed as it emptied: put a new set in its place, unless someone else did.
                var fresh = new TaggedCopies();
                copies = _tags.TryUpdate(tag, fresh, copies) ? fresh : _tags.GetOrAdd(tag, fresh);
            }
        }
    }

    /// <summary>Untracks a copy that left the L1 (not a later copy stored under the same key).</summary>
    public void Untrack(string key, object copy, IReadOnlyList<string> tags)
    {
        foreach (var tag in tags)
        {
            if (_tags.TryGetValue(tag, out var copies) && copies.RemoveAndCloseIfEmpty(key, copy))
                _tags.TryRemove(KeyValuePair.Create(tag, copies));
        }
    }

    /// <summary>Stops tracking a tag; returns the keys of the copies that carried it.</summary>
    public IReadOnlyList<string> Take(string tag) => _tags.TryRemove(tag, out var copies) ? copies.Close() : [];

    /// <summary>The copies of one tag by key; closed once emptied or taken, so no copy is added to a set that left the index.</summary>
    private sealed class TaggedCopies
    {
        private readonly Dictionary<string, object> _copies = new(StringComparer.Ordinal);
        private bool _closed;

        public int Count
        {
            get
            {
                lock (_copies)
                    return _copies.Count;
            }
        }

        public bool TryAdd(string key, object copy)
        {
            lock (_copies)
            {
                if (_closed)
                    return false;
                _copies[key] = copy;
                return true;
            }
        }

        public bool RemoveAndCloseIfEmpty(string key, object copy)
        {
            lock (_copies)
            {
                if (_copies.TryGetValue(key, out var tracked) && ReferenceEquals(tracked, copy))
                    _copies.Remove(key);
                if (_copies.Count > 0 || _closed)
                    return false;
                _closed = true;
                return true;
            }
        }

        public IReadOnlyList<string> Close()
        {
            lock (_copies)
            {
                _closed = true;
                return [.. _copies.Keys];
            }
        }
    }
}
