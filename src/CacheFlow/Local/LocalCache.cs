using System.IO.Hashing;
using System.Runtime.InteropServices;
using CacheFlow.Invalidation;
using CacheFlow.Redis;
using Microsoft.Extensions.Caching.Memory;
using StackExchange.Redis;

namespace CacheFlow.Local;

/// <summary>
/// The optional in-process L1 in front of Redis: the same stored entries (soft and hard expiry respected), bounded in
/// count, each kept at most <see cref="CacheFlowOptions.LocalMaxAge"/>. Kept coherent across instances by the
/// <see cref="InvalidationBus"/>: every write-through or removal in any instance (with or without an L1 of its own)
/// drops the copies here (a load's write-back need not: the invalidation that made it a miss already went out). An
/// instance whose connection dropped may have missed messages, so it clears its L1 when it reconnects; a lost message
/// costs at most the maximum age of staleness.
/// </summary>
/// <remarks>
/// A copy is stamped with the invalidation counters it was read under (its key's stripe, its tags' stripes,
/// everything), taken before the Redis read; it is served only while they are unchanged. A read that fetched a value
/// before an invalidation and stores it after cannot bring the old value back: the L1's own stale-set race, closed
/// without a lock. Keys and tags share fixed arrays of counters (stripes), so the counters take the same memory
/// whatever the number of keys and tags; two that share a stripe only cost each other misses, never a stale read.
/// Memory beyond that is the entries and the index of their tags (<see cref="LocalTagIndex"/>), both bounded by
/// <see cref="CacheFlowOptions.LocalSizeLimit"/>.
/// </remarks>
internal sealed class LocalCache : IDisposable
{
    private const int Stripes = 4096;

    /// <summary>A nearly full L1 (this share of its limit) admits only keys read at least <see cref="AdmitReads"/> times lately.</summary>
    private const double AdmitFromFill = 0.9;

    /// <summary>Lookups are counted from this share of the limit on: an L1 that never fills pays nothing for admission.</summary>
    private const double CountFromFill = 0.5;

    private const int AdmitReads = 2;

    /// <summary>
    /// The L1's fill is read once per this many stores at most: <c>MemoryCache.Count</c> takes every lock of its
    /// dictionary (up to 1,024 once it has grown), too dear for every store, and the fill moves slowly.
    /// </summary>
    private const int CountEvery = 256;

    private readonly MemoryCache _entries;
    private readonly long[] _stripes = new long[Stripes];
    private readonly long[] _tagStripes = new long[Stripes];
    private readonly bool _stamped;
    private readonly bool _pruned;
    private readonly bool _admission;
    private readonly bool _sizedByBytes;
    private readonly int _sizeLimit;
    private readonly int _countEvery;
    private FrequencySketch? _sketch;
    private int _storesSinceCount;
    private bool _nearlyFull;
    private long _everything;
    private readonly LocalTagIndex _tags = new();
    private readonly PostEvictionCallbackRegistration _untrack;
    private readonly IConnectionMultiplexer _redis;
    private readonly InvalidationBus _bus;
    private readonly CacheKeys _keys;
    private readonly TimeProvider _time;
    private readonly TimeSpan _maxAge;
    private readonly bool _untilStale;
    private volatile bool _subscribed;

    public LocalCache(IConnectionMultiplexer redis, InvalidationBus bus, CacheFlowOptions options, TimeProvider time)
    {
        _redis = redis;
        _bus = bus;
        _time = time;
        _maxAge = options.LocalMaxAge;
        _untilStale = ReferenceEquals(time, TimeProvider.System);
        _stamped = options.Protections.HasFlag(CacheProtections.LocalStamps);
        _pruned = options.Protections.HasFlag(CacheProtections.LocalTagPruning);
        _untrack = new PostEvictionCallbackRegistration { EvictionCallback = Untrack, State = this };
        _sizedByBytes = options.LocalSizeLimitBytes is not null;
        _entries = new MemoryCache(new MemoryCacheOptions { SizeLimit = options.LocalSizeLimitBytes ?? options.LocalSizeLimit, Clock = null });
        // The sketch's "nearly full" compares counts; bounded by bytes, every copy that fits is offered to MemoryCache.
        _admission = options.LocalFrequencyAdmission && !_sizedByBytes;
        _sizeLimit = options.LocalSizeLimit;
        // A small L1 fills in a few stores: read its fill every time (about 1 in 64 of its size, at most 1 in 256).
        _countEvery = Math.Clamp(options.LocalSizeLimit / 64, 1, CountEvery);

        _keys = new CacheKeys(options.KeyPrefix);
        _redis.ConnectionRestored += OnReconnected;
        Subscribe();
    }

    /// <summary>
    /// Whether copies leave the L1 at their soft expiry, so that a copy found is fresh without reading the clock again.
    /// True on the system clock, which is the L1's own (<c>MemoryCache</c>'s); on another clock (a test's fake one) a copy
    /// is kept to its hard expiry and its freshness checked on that clock by the caller.
    /// </summary>
    public bool ExpiresCopiesWhenStale => _untilStale;

    /// <summary>How many entries the L1 holds.</summary>
    public long Count => _entries.Count;

    /// <summary>How many (tag, key) pairs the tag index holds: at most the entries times their tags, once evictions are processed.</summary>
    internal int TaggedKeys => _tags.Pairs;

    /// <summary>How many tags the tag index holds.</summary>
    internal int IndexedTags => _tags.Tags;

    /// <summary>A copy, if there is one and nothing invalidated it since its read; none while the bus is not subscribed.</summary>
    public LocalCopy? Get(string key)
    {
        if (!_subscribed || !_entries.TryGetValue(key, out LocalCopy? copy))
        {
            Volatile.Read(ref _sketch)?.Increment(Hash(key));
            return null;
        }

        // The copy knows its key's hash: a hit hashes nothing.
        Volatile.Read(ref _sketch)?.Increment(copy!.KeyHash);
        if (!_stamped || copy!.Stamp == Stamp(copy.KeyHash, copy.Tags))
            return copy;
        _entries.Remove(key);
        return null;
    }

    /// <summary>
    /// The invalidation counters that concern a key with these tags, summed: they only grow, so the sum is unchanged
    /// exactly when none of them moved. Take it before reading Redis; a copy stored with it is dropped if it moved.
    /// </summary>
    public long Stamp(string key, IReadOnlyList<string> tags) => Stamp(Hash(key), tags);

    private long Stamp(ulong keyHash, IReadOnlyList<string> tags)
    {
        var stamp = Volatile.Read(ref _everything) + Volatile.Read(ref _stripes[Stripe(keyHash)]);
        // By index: a foreach over the interface may allocate an enumerator on every hit of a tagged copy.
        for (var i = 0; i < tags.Count; i++)
            stamp += Volatile.Read(ref _tagStripes[Stripe(tags[i])]);

        return stamp;
    }

    /// <summary>
    /// Keeps an entry for at most the maximum age (or the entry's own duration, or its hard expiry, if sooner),
    /// stamped with what <see cref="Stamp(string, IReadOnlyList{string})"/> said before it was read. A nearly full L1
    /// keeps it only if its key was read at least twice lately (<see cref="CacheFlowOptions.LocalFrequencyAdmission"/>).
    /// Returns the copy kept, if one was.
    /// </summary>
    public LocalCopy? Set(string key, StoredEntry stored, CacheEntryOptions options, long stamp)
    {
        var hash = Hash(key);
        if (!_subscribed || (_admission && NearlyFull() && _sketch!.Estimate(hash) < AdmitReads))
            return null;
        // A value kept stale by fail-safe is never an L1 hit: the reads of it go to Redis, which says STALE.
        if (_untilStale && stored.Header.Flags.HasFlag(CacheEntryFlags.Stale))
            return null;
        var now = _time.GetUtcNow();
        var age = options.LocalDuration is { } local && local < _maxAge ? local : _maxAge;
        var expiry = _untilStale ? stored.Header.SoftExpiresAt : stored.Header.HardExpiresAt;
        var expires = DateTimeOffset.FromUnixTimeMilliseconds(Math.Min(expiry, (now + age).ToUnixTimeMilliseconds()));
        if (expires <= now)
            return null;
        var copy = new LocalCopy(stored, stamp, options.Tags, hash);
        var entryOptions = new MemoryCacheEntryOptions { AbsoluteExpiration = expires, Size = _sizedByBytes ? Math.Max(1, stored.Json.Length) : 1 };
        if (copy.Tags.Count > 0)
        {
            // Tracked before it is stored, so the callback of its leaving (even at once, for lack of room) comes after.
            _tags.Track(key, copy, copy.Tags);
            if (_pruned)
                entryOptions.PostEvictionCallbacks.Add(_untrack);
        }

        _entries.Set(key, copy, entryOptions);
        return copy;
    }

    /// <summary>
    /// After this instance wrote a key (the cache tells the other instances): reads in flight here drop what they
    /// read. This one keeps the value it wrote only if that was the only invalidation since <paramref name="before"/>
    /// (a stamp taken before the write): if another came between, the value may already be outdated, and a miss is safe.
    /// </summary>
    public void SetWritten(string key, StoredEntry stored, CacheEntryOptions options, long before)
    {
        Drop(key);
        var stamp = Stamp(key, options.Tags);
        if (!_stamped || stamp == before + 1)
            Set(key, stored, options, stamp);
    }

    /// <summary>Drops everything (after a reconnect, messages may have been missed).</summary>
    public void Clear()
    {
        Interlocked.Increment(ref _everything);
        _entries.Clear();
    }

    public void Dispose()
    {
        _redis.ConnectionRestored -= OnReconnected;
        _entries.Dispose();
    }

    private void OnMessage(BusMessageKind kind, string value)
    {
        switch (kind)
        {
            // Keys and prefixes travel as Redis sees them ({prefix}{user:42}); this L1 holds the callers' keys (user:42).
            case BusMessageKind.Key when _keys.KeyOf(value) is { } key:
                Drop(key);
                break;
            case BusMessageKind.Tag:
                DropTag(value);
                break;
            case BusMessageKind.Prefix when _keys.IsEntryPrefix(value):
                DropPrefix(_keys.PrefixOf(value));
                break;
        }
    }

    /// <summary>
    /// Whether the L1 was at least 90% full when its fill was last read (racy by design: a hint, not a count). From
    /// half full on, the lookups are counted (the sketch is made then), so a full L1 knows its keys' recent history.
    /// </summary>
    private bool NearlyFull()
    {
        if (++_storesSinceCount >= _countEvery)
        {
            _storesSinceCount = 0;
            var fill = _entries.Count;
            if (_sketch is null && fill >= _sizeLimit * CountFromFill)
                Interlocked.CompareExchange(ref _sketch, new FrequencySketch(_sizeLimit), null);
            _nearlyFull = fill >= _sizeLimit * AdmitFromFill;
        }

        return _nearlyFull && _sketch is not null;
    }

    private static ulong Hash(string keyOrTag) => XxHash3.HashToUInt64(MemoryMarshal.AsBytes(keyOrTag.AsSpan()));

    private static int Stripe(string keyOrTag) => Stripe(Hash(keyOrTag));

    private static int Stripe(ulong hash) => (int)(hash % Stripes);

    /// <summary>A copy left the L1 (evicted, expired, removed or replaced): it leaves the tag index too.</summary>
    private static void Untrack(object key, object? value, EvictionReason reason, object? state) =>
        ((LocalCache)state!)._tags.Untrack((string)key, value!, ((LocalCopy)value!).Tags);

    /// <summary>Drops this instance's copy of a key (and stops reads in flight from storing theirs), telling no one.</summary>
    public void Drop(string key)
    {
        Interlocked.Increment(ref _stripes[Stripe(key)]);
        _entries.Remove(key);
    }

    /// <summary>Drops this instance's copies of a tag's entries, telling no one.</summary>
    public void DropTag(string tag)
    {
        Interlocked.Increment(ref _tagStripes[Stripe(tag)]);
        foreach (var key in _tags.Take(tag))
            _entries.Remove(key);
    }

    /// <summary>Drops this instance's copies of keys starting with a prefix, telling no one.</summary>
    public void DropPrefix(string keyPrefix)
    {
        // Keys under a prefix are not known in advance: every copy read before now is suspect.
        Interlocked.Increment(ref _everything);
        foreach (var key in _entries.Keys.OfType<string>().Where(k => k.StartsWith(keyPrefix, StringComparison.Ordinal)).ToList())
            _entries.Remove(key);
    }

    private void OnReconnected(object? sender, ConnectionFailedEventArgs e)
    {
        Clear();
        if (!_subscribed)
            Subscribe();
    }

    /// <summary>Subscribes to the bus; until that succeeds (Redis was down at start) the L1 holds and serves nothing.</summary>
    private void Subscribe()
    {
        try
        {
            _bus.Subscribe(OnMessage);
            _subscribed = true;
        }
        catch (Exception ex) when (RedisGuard.IsFailure(ex))
        {
            // Tried again when a connection is restored.
            _subscribed = false;
        }
    }
}
