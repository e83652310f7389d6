using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using CacheFlow.Invalidation;
using CacheFlow.Local;
using CacheFlow.Metrics;
using CacheFlow.Redis;
using CacheFlow.Serialization;
using CacheFlow.Tracing;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CacheFlow;

/// <summary>The Redis-backed <see cref="ICacheFlow"/>. Thread-safe; register one per application.</summary>
public sealed partial class CacheFlowCache : ICacheFlow, IDisposable
{
    private static readonly ReadOnlyMemory<byte> NullJson = "null"u8.ToArray();
    private static readonly CacheEntryOptions DefaultEntryOptions = new();

    private readonly CacheFlowOptions _options;
    private readonly RedisEntryStore _store;
    private readonly CacheKeys _keys;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CacheFlowMetrics _metrics;
    private readonly PendingInvalidations _pending = new();
    private readonly ConcurrentDictionary<string, Flight> _flights = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _disposed = new();
    private readonly LocalCache? _local;
    private readonly InvalidationBus _bus;
    private readonly IConnectionMultiplexer _redis;
    private readonly RetryLoop _pendingRetry;
    private readonly AbandonedLeases _abandoned;

    /// <summary>Creates the cache over a connected (or connecting) multiplexer.</summary>
    /// <param name="redis">The Redis connection; create it with <c>AbortOnConnectFail = false</c> so it reconnects by itself.</param>
    /// <param name="options">The cache options.</param>
    /// <param name="time">The clock that expiries are computed with.</param>
    /// <param name="logger">Where cache errors are logged, as warnings.</param>
    /// <param name="meterFactory">Creates the <c>CacheFlow</c> meter; <see langword="null"/> for a standalone meter.</param>
    /// <param name="guard">
    /// The guard of Redis calls, shared with other users of the connection (write-behind, counters) so that they see
    /// one circuit; <see langword="null"/> for one of the cache's own.
    /// </param>
    public CacheFlowCache(IConnectionMultiplexer redis, IOptions<CacheFlowOptions> options, TimeProvider time, ILogger<CacheFlowCache> logger, IMeterFactory? meterFactory = null, RedisGuard? guard = null)
    {
        _options = options.Value;
        // Once, here: typed reads of many types on many threads would otherwise each try to freeze them.
        JsonOptions.Freeze(_options.SerializerOptions, required: false);
        _store = new RedisEntryStore(redis, _options, guard ?? new RedisGuard(_options, time));
        _keys = _store.Keys;
        _time = time;
        _logger = logger;
        // Every instance tells the others what it invalidated, whether or not it keeps an L1 itself.
        _bus = new InvalidationBus(redis, _options);
        _local = _options.LocalCacheEnabled ? new LocalCache(redis, _bus, _options, time) : null;
        _metrics = new CacheFlowMetrics(meterFactory, _options, () => _local?.Count, () => _pending.Count, () => _abandoned?.Count ?? 0);
        _redis = redis;
        _pendingRetry = new RetryLoop(ApplyPendingAsync, () => _pending.Count, _options.InvalidationRetryInterval, time, _disposed.Token);
        _abandoned = new AbandonedLeases(_store, _options, time, _disposed.Token);
        _redis.ConnectionRestored += OnConnectionRestored;
    }

    /// <summary>How the cache names its Redis keys.</summary>
    internal CacheKeys Keys => _keys;

    /// <summary>Whether the guard of the cache's Redis calls has its circuit open.</summary>
    internal bool CircuitOpen => _store.Guard.IsOpen;

    /// <summary>Leases waiting to be released; tests release them at a moment of their choosing.</summary>
    internal AbandonedLeases AbandonedLeases => _abandoned;

    /// <summary>The cache's Redis connection.</summary>
    internal IConnectionMultiplexer Redis => _redis;

    /// <summary>How many invalidations wait for Redis.</summary>
    internal int PendingInvalidations => _pending.Count;

    /// <summary>How many entries the L1 holds (null when it is off).</summary>
    internal long? LocalEntries => _local?.Count;

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <inheritdoc />
    public ValueTask<CacheResult> GetOrCreateJsonAsync<T>(string key, Func<CancellationToken, ValueTask<T>> factory, CacheEntryOptions? options = null, CancellationToken cancellationToken = default) =>
        GetOrCreateEncodedAsync(key, factory, JsonOf<T>(), options, cancellationToken);

    /// <summary>A read whose value, if loaded, is stored as <paramref name="serializer"/> writes it; the result holds those bytes.</summary>
    private ValueTask<CacheResult> GetOrCreateEncodedAsync<T>(
        string key, Func<CancellationToken, ValueTask<T>> factory, IHybridCacheSerializer<T> serializer, CacheEntryOptions? options, CancellationToken cancellationToken) =>
        GetOrCreateCoreAsync(key, (Serializer: serializer, Factory: factory), static async (state, ct) =>
        {
            var value = await state.Factory(ct).ConfigureAwait(false);
            return value is null ? Loaded.Null : new Loaded(Encode(value, state.Serializer), LoadedKind.Value);
        }, options, inline: false, cancellationToken);

    /// <inheritdoc />
    public ValueTask<CacheResult> GetOrCreateRawAsync(string key, Func<CancellationToken, ValueTask<ReadOnlyMemory<byte>?>> factory, CacheEntryOptions? options = null, CancellationToken cancellationToken = default) =>
        GetOrCreateCoreAsync(key, factory, static async (factory, ct) =>
        {
            var json = await factory(ct).ConfigureAwait(false);
            return json is null ? Loaded.NotCacheable : new Loaded(WithHeaderRoom(json.Value), LoadedKind.Value);
        }, options, inline: true, cancellationToken);

    /// <inheritdoc />
    public CacheStatistics GetStatistics() => _metrics.Snapshot();

    /// <inheritdoc />
    public void ResetStatistics() => _metrics.Reset();

    /// <inheritdoc />
    public void Dispose()
    {
        // Cancelled, not disposed: background refreshes still running may read its token.
        _disposed.Cancel();
        _redis.ConnectionRestored -= OnConnectionRestored;
        _local?.Dispose();
        _metrics.Dispose();
    }

    /// <summary>
    /// The read path: one read of Redis that also takes the key's lease if there is no entry, then a hit, a stale
    /// value with a refresh, or a load shared with other callers (<see cref="MissAsync"/>).
    /// </summary>
    private async ValueTask<CacheResult> GetOrCreateCoreAsync<TState>(
        string key, TState state, Func<TState, CancellationToken, ValueTask<Loaded>> load, CacheEntryOptions? options, bool inline, CancellationToken cancellationToken,
        EntryPaths paths = EntryPaths.All)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (paths.HasFlag(EntryPaths.LocalRead) && LocalHit(key) is { } local)
            return local.Stored.Result(CacheOutcome.Hit) with { FromLocal = true };
        var counters = _metrics.For(key);

        var entryKey = _keys.Entry(key);
        var request = new LoadRequest<TState>(key, entryKey, state, load, options ?? DefaultEntryOptions, counters, inline, paths);

        if (_pending.Covers(entryKey, request.Options.Tags))
        {
            // An invalidation of this key has not reached Redis yet: what Redis holds may be older than a write
            // this instance acknowledged. Until it is applied, reads here go to the source and cache nothing.
            request.Counters.AddBypass();
            return paths.HasFlag(EntryPaths.Factory)
                ? await LoadPastPendingAsync(request).ConfigureAwait(false)
                : new CacheResult(CacheOutcome.Bypass, default, IsNull: true);
        }

        // Taken before the read: a copy read now and stored after an invalidation is never served (LocalCache).
        var stamp = _local?.Stamp(key, request.Options.Tags) ?? 0;
        request = request with { Stamp = stamp };
        var refreshable = paths.HasFlag(EntryPaths.RemoteRead | EntryPaths.RemoteWrite | EntryPaths.Factory);
        if (SingleFlight && refreshable && _flights.TryGetValue(entryKey, out var running) && running.Abandonable)
        {
            // A load of this key is running here: its value will be no older than what Redis holds now, so the caller
            // joins it at once instead of reading Redis first (and counts as waiting for it from the start).
            request.Counters.AddMiss();
            return await MissAsync(request, LoadMode.Load, lease: null, cancellationToken).ConfigureAwait(false);
        }

        var reachable = true;
        // A read that may load asks for the lease as it reads: a lone miss then costs no round trip for it.
        var lease = refreshable && _store.Leases ? Lease.ForRead(entryKey) : (Lease?)null;
        var read = default(EntryRead);
        if (paths.HasFlag(EntryPaths.RemoteRead))
        {
            try
            {
                if (request.Options.Tags.Count > 0 && _store.TagVersions)
                {
                    // A tagged entry is current only while its tags' versions are: read beside it, in one round trip.
                    read = await _store.ReadTaggedAsync(entryKey, request.Options.Tags, lease).ConfigureAwait(false);
                }
                else
                {
                    // The guard's steps by hand, so an L2 hit costs no state machine but this one's.
                    var sent = _store.BeginRead(entryKey, lease, out var call);
                    RedisValue value;
                    try
                    {
                        value = await sent.ConfigureAwait(false);
                    }
                    catch (Exception ex)
                    {
                        _store.EndRead(call, ex);
                        throw;
                    }

                    _store.EndRead(call, failure: null);
                    read = RedisEntryStore.Decode(value, leasing: lease is not null);
                }

                if (read.Entry is { } stored)
                {
                    var now = NowMs;
                    switch (stored.At(now))
                    {
                        case Freshness.Fresh:
                            request.Counters.AddHit();
                            if (_local is not null && paths.HasFlag(EntryPaths.LocalWrite))
                                _local.Set(key, stored, request.Options, stamp);

                            // An inline factory cannot run after its caller returns, and a hit should not wait for a refresh.
                            if (!request.Inline && refreshable && ShouldRefreshEarly(stored.Header, now))
                                StartRefresh(request, stored);
                            return stored.Result(CacheOutcome.Hit);
                        case Freshness.Throttled:
                            request.Counters.AddStale();
                            return stored.Result(CacheOutcome.Stale);
                        case Freshness.Stale when refreshable:
                            return await ServeStaleAsync(request, stored, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            catch (Exception ex) when (RedisGuard.IsFailure(ex))
            {
                // A read that timed out may have taken the lease all the same.
                if (lease is { } asked)
                    _abandoned.Add(asked);
                reachable = false;
                OnRedisFailure(request.Counters, ex, Log.ReadFailed);
            }
        }

        var taken = read.Lease == LeaseState.Taken ? lease : null;
        if (cancellationToken.IsCancellationRequested)
        {
            // The lease this read took is handed back, so other readers need not wait for it to run out.
            if (taken is { } unused)
                _ = TryReleaseAsync(unused, request.Counters);
            cancellationToken.ThrowIfCancellationRequested();
        }

        if (reachable)
            request.Counters.AddMiss();
        else
            request.Counters.AddBypass();
        if (!paths.HasFlag(EntryPaths.Factory))
            return new CacheResult(reachable ? CacheOutcome.Miss : CacheOutcome.Bypass, default, IsNull: true);
        // Redis just failed this read: the load does not ask it again (a hung Redis would cost a second timeout).
        var mode = !reachable ? LoadMode.WithoutRedis
            : !paths.HasFlag(EntryPaths.RemoteRead | EntryPaths.RemoteWrite) ? LoadMode.Leaseless
            : LoadMode.Load;
        return await MissAsync(request with { TagVersions = read.Versions }, mode, taken, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>An invalidation of the key waits for Redis: the value comes from the source, uncached.</summary>
    private async ValueTask<CacheResult> LoadPastPendingAsync<TState>(LoadRequest<TState> request)
    {
        using var activity = CacheActivities.Start(CacheActivities.Bypass, _options, request.Counters.Family);
        activity?.SetTag(CacheActivities.BypassReason, "invalidation_pending");
        try
        {
            return (await new KeyLoad<TState>(this, request, LoadMode.WithoutRedis, flight: null, lease: null).LoadAsync().ConfigureAwait(false)).Result;
        }
        catch (Exception ex)
        {
            CacheActivities.Fail(activity, ex);
            throw;
        }
    }

    /// <summary>
    /// The L1's copy of a key (the caller's, not Redis's: no string is built for a hit) if it is fresh, counted as a hit
    /// under its family, which the copy keeps once found.
    /// </summary>
    private LocalCopy? LocalHit(string key)
    {
        // A copy the L1 still holds is fresh when the L1 expires copies at their soft expiry (on the system clock);
        // on another clock (a test's) its freshness is checked here.
        if (_local?.Get(key) is not { } copy || (!_local.ExpiresCopiesWhenStale && copy.Stored.At(NowMs) != Freshness.Fresh))
            return null;
        (copy.Counters ??= _metrics.For(key)).AddLocalHit();
        return copy;
    }

    /// <summary>
    /// Past the soft expiry: one refresh starts (or is already running); the caller gets the stale value, at once or
    /// after the soft timeout. An inline factory's refresh runs on the caller that starts it, which waits for it.
    /// </summary>
    private async ValueTask<CacheResult> ServeStaleAsync<TState>(LoadRequest<TState> request, StoredEntry stale, CancellationToken cancellationToken)
    {
        var (refresh, joinedAt, started) = StartRefresh(request, stale);
        if (request.Inline && started is not null)
        {
            await started.ConfigureAwait(false);
            if (refresh is not null && refresh.Completion.Task.Result.SharesWith(joinedAt))
            {
                request.Counters.AddMiss();
                return refresh.Completion.Task.Result.Result with { Outcome = CacheOutcome.Miss };
            }
        }
        else if (request.Options.FactorySoftTimeout > TimeSpan.Zero && refresh is not null)
        {
            try
            {
                var refreshed = await refresh.Completion.Task.WaitAsync(request.Options.FactorySoftTimeout, _time, cancellationToken).ConfigureAwait(false);
                if (refreshed.SharesWith(joinedAt))
                {
                    request.Counters.AddMiss();
                    return refreshed.Result with { Outcome = CacheOutcome.Miss };
                }
            }
            catch (TimeoutException)
            {
                // Too slow for this caller; the refresh goes on in the background and the stale value is served now.
            }
        }

        request.Counters.AddStale();
        return stale.Result(CacheOutcome.Stale);
    }

    /// <summary>XFetch (Vattani et al., VLDB 2015): refresh early with a probability that rises as expiry nears, scaled by the load time.</summary>
    private bool ShouldRefreshEarly(CacheEntry entry, long nowMs)
    {
        if (_options.EarlyRefreshBeta <= 0 || entry.LoadMilliseconds <= 0)
            return false;
        var gap = entry.LoadMilliseconds * _options.EarlyRefreshBeta * -Math.Log(1 - Random.Shared.NextDouble());
        return nowMs + gap >= entry.SoftExpiresAt;
    }

    private void OnRedisFailure(FamilyCounters counters, Exception exception, Action<ILogger, Exception, string> log)
    {
        // An open circuit is the breaker doing its job: no call was made, so nothing to count or log.
        if (exception is RedisCircuitOpenException)
            return;
        counters.AddError();
        log(_logger, exception, counters.Family);
    }

    private static Memory<byte> WithHeaderRoom(ReadOnlyMemory<byte> json)
    {
        var entry = new byte[CacheEntry.HeaderSize + json.Length];
        json.CopyTo(entry.AsMemory(CacheEntry.HeaderSize));
        return entry;
    }

    private TimeSpan NullDuration(CacheEntryOptions options) => options.NullDuration ?? _options.DefaultNullDuration;

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
