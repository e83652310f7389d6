using CacheFlow.Metrics;
using CacheFlow.Redis;

namespace CacheFlow;

public sealed partial class CacheFlowCache
{
    /// <summary>
    /// One read's key, factory and options, carried through the load. An <paramref name="Inline"/> factory may use
    /// its caller's context (an endpoint filter's HttpContext), so it only ever runs while its caller waits for it.
    /// <paramref name="Paths"/> are the levels it may use; <see cref="Stamp"/> is the L1 stamp taken before Redis was read,
    /// <see cref="TagVersions"/> the versions of its tags taken with its lease (before the source is read), for its write-back.
    /// </summary>
    private readonly record struct LoadRequest<TState>(
        string Key, string EntryKey, TState State, Func<TState, CancellationToken, ValueTask<Loaded>> Load,
        CacheEntryOptions Options, FamilyCounters Counters, bool Inline, EntryPaths Paths = EntryPaths.All)
    {
        public long Stamp { get; init; }

        public IReadOnlyList<long>? TagVersions { get; init; }

        /// <summary>Whether the read may load and write back (so take the lease, and refresh a stale entry).</summary>
        public bool Refreshable => Paths.HasFlag(EntryPaths.RemoteRead | EntryPaths.RemoteWrite | EntryPaths.Factory);
    }

    /// <summary>
    /// What a factory produced: an entry (header room, then the value's bytes), a null, or a result not to cache; and,
    /// for an immutable type's typed load, the value itself (<see cref="CacheResult.Value"/>).
    /// </summary>
    private readonly record struct Loaded(Memory<byte> Entry, LoadedKind Kind)
    {
        public object? Value { get; init; }

        public static Loaded Null => new(WithHeaderRoom(NullJson), LoadedKind.Null);

        public static Loaded NotCacheable => new(Memory<byte>.Empty, LoadedKind.NotCacheable);

        /// <summary>Whether the value may not be cached (and so not handed to joiners of its flight either).</summary>
        public bool Uncacheable => Kind is LoadedKind.NotCacheable or LoadedKind.TooLarge;

        public CacheResult Result(CacheOutcome outcome) =>
            new(outcome, Kind == LoadedKind.NotCacheable ? default : Entry[CacheEntry.HeaderSize..], Kind is LoadedKind.Null or LoadedKind.NotCacheable) { Value = Value };
    }

    private enum LoadedKind
    {
        Value,
        Null,

        /// <summary>A result the factory said not to cache (an error response, say): no value.</summary>
        NotCacheable,

        /// <summary>A value longer than the payload limit: returned to its caller, never cached.</summary>
        TooLarge,
    }
}
