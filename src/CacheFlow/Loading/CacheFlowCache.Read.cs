using CacheFlow.Local;
using CacheFlow.Logging;
using CacheFlow.Redis;
using CacheFlow.Tracing;
using StackExchange.Redis;

namespace CacheFlow;

public sealed partial class CacheFlowCache
{
    /// <summary>
    /// The read path: the L1, then one read of Redis that also takes the key's lease if there is no entry
    /// (<see cref="ReadRemoteAsync"/>), then a hit, a stale value with a refresh, or a load shared with other callers
    /// (<see cref="MissAsync"/>). No state machine of its own: the one that waits for Redis holds the request alone.
    /// </summary>
    private ValueTask<CacheResult> GetOrCreateCoreAsync<TState>(
        string key, TState state, Func<TState, CancellationToken, ValueTask<Loaded>> load, CacheEntryOptions? options, bool inline, CancellationToken cancellationToken,
        EntryPaths paths = EntryPaths.All)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (paths.HasFlag(EntryPaths.LocalRead) && LocalHit(key) is { } local)
            return ValueTask.FromResult(local.Stored.Result(CacheOutcome.Hit) with { FromLocal = true });
        var entryKey = _keys.Entry(key);
        var request = new LoadRequest<TState>(key, entryKey, state, load, options ?? DefaultEntryOptions, _metrics.For(key), inline, paths);

        if (_pending.Covers(entryKey, request.Options.Tags))
        {
            // An invalidation of this key has not reached Redis yet: what Redis holds may be older than a write
            // this instance acknowledged. Until it is applied, reads here go to the source and cache nothing.
            request.Counters.AddBypass();
            return paths.HasFlag(EntryPaths.Factory)
                ? LoadPastPendingAsync(request)
                : ValueTask.FromResult(new CacheResult(CacheOutcome.Bypass, default, IsNull: true));
        }

        // Taken before the read: a copy read now and stored after an invalidation is never served (LocalCache).
        request = request with { Stamp = _local?.Stamp(key, request.Options.Tags) ?? 0 };
        if (SingleFlight && request.Refreshable && _flights.TryGetValue(entryKey, out var running) && running.ForCallers)
        {
            // A load of this key is running here: its value will be no older than what Redis holds now, so the caller
            // joins it at once instead of reading Redis first (and counts as waiting for it from the start).
            request.Counters.AddMiss();
            return ResultOf(MissAsync(new KeyLoad<TState>(this, request, LoadMode.Load, lease: null), cancellationToken));
        }

        return ReadRemoteAsync(request, cancellationToken);
    }

    /// <summary>The read of Redis, and what follows from it: a hit, a stale value, or the miss.</summary>
    private async ValueTask<CacheResult> ReadRemoteAsync<TState>(LoadRequest<TState> request, CancellationToken cancellationToken)
    {
        // A read that may load asks for the lease as it reads: a lone miss then costs no round trip for it.
        var lease = request.Refreshable && _store.Leases ? Lease.ForRead(request.EntryKey) : (Lease?)null;
        // Set after the read (not before it, so the state machine does not carry them through it): what the miss needs.
        bool reachable;
        Lease? taken;
        long[]? versions;
        if (!request.Paths.HasFlag(EntryPaths.RemoteRead))
        {
            (reachable, taken, versions) = (true, null, null);
        }
        else
        {
            try
            {
                EntryRead read;
                if (request.Options.Tags.Count > 0 && _store.TagVersions)
                {
                    // A tagged entry is current only while its tags' versions are: read beside it, in one round trip.
                    read = await _store.ReadTaggedAsync(request.EntryKey, request.Options.Tags, lease).ConfigureAwait(false);
                }
                else
                {
                    // Awaited here, so an L2 hit costs no state machine but this one's.
                    read = RedisEntryStore.Decode(await _store.BeginRead(request.EntryKey, lease).ConfigureAwait(false), leasing: lease is not null);
                }

                (reachable, taken, versions) = (true, read.Lease == LeaseState.Taken ? lease : null, read.Versions);

                if (read.Entry is { } stored)
                {
                    var now = NowMs;
                    switch (stored.At(now))
                    {
                        case Freshness.Fresh:
                            request.Counters.AddHit();
                            if (_local is not null && request.Paths.HasFlag(EntryPaths.LocalWrite))
                                _local.Set(request.Key, stored, request.Options, request.Stamp);

                            // An inline factory cannot run after its caller returns, and a hit should not wait for a refresh.
                            if (!request.Inline && request.Refreshable && ShouldRefreshEarly(stored.Header, now))
                                StartRefresh(request, stored);
                            return stored.Result(CacheOutcome.Hit);
                        case Freshness.Throttled:
                            request.Counters.AddStale();
                            return stored.Result(CacheOutcome.Stale);
                        case Freshness.Stale when request.Refreshable:
                            return await ServeStaleAsync(request, stored, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            catch (Exception ex) when (RedisGuard.IsFailure(ex))
            {
                // A read that timed out may have taken the lease all the same.
                if (lease is { } asked)
                    _abandoned.Add(asked);
                (reachable, taken, versions) = (false, null, null);
                OnRedisFailure(request.Counters, ex, Log.ReadFailed);
            }
        }

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
        if (!request.Paths.HasFlag(EntryPaths.Factory))
            return new CacheResult(reachable ? CacheOutcome.Miss : CacheOutcome.Bypass, default, IsNull: true);
        // Redis just failed this read: the load does not ask it again (a hung Redis would cost a second timeout).
        var mode = !reachable ? LoadMode.WithoutRedis
            : !request.Paths.HasFlag(EntryPaths.RemoteRead | EntryPaths.RemoteWrite) ? LoadMode.Leaseless
            : LoadMode.Load;
        return (await MissAsync(new KeyLoad<TState>(this, request with { TagVersions = versions }, mode, taken), cancellationToken).ConfigureAwait(false)).Result;
    }

    private static async ValueTask<CacheResult> ResultOf(ValueTask<FlightResult> flight) => (await flight.ConfigureAwait(false)).Result;

    /// <summary>An invalidation of the key waits for Redis: the value comes from the source, uncached.</summary>
    private async ValueTask<CacheResult> LoadPastPendingAsync<TState>(LoadRequest<TState> request)
    {
        using var activity = CacheActivities.Start(CacheActivities.Bypass, _options, request.Counters.Family);
        activity?.SetTag(CacheActivities.BypassReason, "invalidation_pending");
        try
        {
            return (await new KeyLoad<TState>(this, request, LoadMode.WithoutRedis, lease: null).LoadAsync().ConfigureAwait(false)).Result;
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
}
