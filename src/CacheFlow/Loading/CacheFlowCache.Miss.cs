using System.Diagnostics;
using System.Runtime.CompilerServices;
using CacheFlow.Logging;
using CacheFlow.Metrics;
using CacheFlow.Redis;
using CacheFlow.Tracing;

namespace CacheFlow;

public sealed partial class CacheFlowCache
{
    private const int MaxJoins = 3;
    private static readonly TimeSpan FirstPoll = TimeSpan.FromMilliseconds(2);
    private static readonly TimeSpan LongestPoll = TimeSpan.FromMilliseconds(50);

    private bool SingleFlight => _options.Protections.HasFlag(CacheProtections.SingleFlight);

    /// <summary>
    /// A read that found no usable value: join this process's load of the key, or start one (<paramref name="load"/>).
    /// A joiner takes the load's result only if it is shareable (committed, or checked against the lease) and was
    /// decided after it joined; otherwise it starts over, so it never returns a value that an invalidation it could
    /// have seen revoked. A read that took the lease loads under it if it starts the load, else hands it back.
    /// </summary>
    private ValueTask<FlightResult> MissAsync<TState>(KeyLoad<TState> load, CancellationToken cancellationToken) =>
        CacheActivities.Enabled ? TracedMissAsync(load, cancellationToken) : LoadSharedAsync(load, cancellationToken);

    private async ValueTask<FlightResult> TracedMissAsync<TState>(KeyLoad<TState> load, CancellationToken cancellationToken)
    {
        var bypass = load.Mode == LoadMode.WithoutRedis;
        using var activity = CacheActivities.Start(bypass ? CacheActivities.Bypass : CacheActivities.Miss, _options, load.Counters.Family);
        if (bypass)
            activity?.SetTag(CacheActivities.BypassReason, "redis_unavailable");
        try
        {
            var result = await LoadSharedAsync(load, cancellationToken).ConfigureAwait(false);
            activity?.SetTag(CacheActivities.Outcome, CacheActivities.OutcomeName(result.Result.Outcome));
            return result;
        }
        catch (Exception ex)
        {
            CacheActivities.Fail(activity, ex);
            throw;
        }
    }

    private ValueTask<FlightResult> LoadSharedAsync<TState>(KeyLoad<TState> load, CancellationToken cancellationToken)
    {
        if (!SingleFlight)
            return LoadAloneAsync(load);
        var mine = new Flight(load.EntryKey, _disposed.Token, forCallers: true, cancellationToken);
        var flight = _flights.GetOrAdd(load.EntryKey, mine);
        if (flight == mine)
            return OwnAsync(load, mine, cancellationToken);
        // Not started: its token source, linked to the cache's, must not stay registered there.
        mine.Finish();
        return JoinAsync(load, flight, cancellationToken);
    }

    /// <summary>
    /// The caller that started the flight runs the load and waits for it like any caller (no state machine of its own:
    /// the read's awaits the flight).
    /// </summary>
    private static ValueTask<FlightResult> OwnAsync<TState>(KeyLoad<TState> load, Flight mine, CancellationToken cancellationToken)
    {
        if (load.Inline)
            return OwnInlineAsync(load.RunAsync(mine), mine, cancellationToken);
        return new ValueTask<FlightResult>(mine.WaitAsync(load.RunAsync(mine, ownerAwaits: true), cancellationToken));
    }

    /// <summary>An inline factory may use this caller's context, so the caller stays until it is done.</summary>
    private static async ValueTask<FlightResult> OwnInlineAsync(Task run, Flight mine, CancellationToken cancellationToken)
    {
        await run.ConfigureAwait(false);
        return await mine.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A caller that found a load of its key running here waits for it, and takes its result if it may; otherwise it
    /// starts over (a flight of its own, or another's to join), <see cref="MaxJoins"/> times at most, then loads alone.
    /// </summary>
    private async ValueTask<FlightResult> JoinAsync<TState>(KeyLoad<TState> load, Flight flight, CancellationToken cancellationToken)
    {
        // Another caller here loads the key: it needs the lease this read took.
        if (load.HandBackLease() is { } held)
            await TryReleaseAsync(held, load.Counters).ConfigureAwait(false);
        for (var join = 1; ; join++)
        {
            var joinedAt = flight.Issued;
            try
            {
                var shared = await flight.WaitAsync(cancellationToken).ConfigureAwait(false);
                if (shared.SharesWith(joinedAt))
                    return shared with { Result = shared.Result with { Outcome = shared.Result.Outcome == CacheOutcome.Bypass ? CacheOutcome.Bypass : CacheOutcome.Miss } };
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // The flight was abandoned by the callers before this one (or its inline owner's request ended): start over.
            }

            if (join == MaxJoins)
                return await LoadAloneAsync(load).ConfigureAwait(false);
            var mine = new Flight(load.EntryKey, _disposed.Token, forCallers: true, cancellationToken);
            flight = _flights.GetOrAdd(load.EntryKey, mine);
            if (flight == mine)
                return await OwnAsync(load, mine, cancellationToken).ConfigureAwait(false);
            mine.Finish();
        }
    }

    private static ValueTask<FlightResult> LoadAloneAsync<TState>(KeyLoad<TState> load) => new(load.LoadAsync());

    /// <summary>
    /// Starts a background refresh of a stale (or nearly expired) entry unless a load of the key is running; returns
    /// the running flight, how many deciding calls it had issued when this caller joined, and the refresh's task if
    /// this caller started it.
    /// </summary>
    private (Flight? Flight, long JoinedAt, Task? Started) StartRefresh<TState>(LoadRequest<TState> request, StoredEntry stale)
    {
        var refresh = new KeyLoad<TState>(this, request, LoadMode.Refresh, lease: null, new StrongBox<StoredEntry>(stale));
        if (!SingleFlight)
            return (null, 0, refresh.RunAsync(flight: null));

        var mine = new Flight(request.EntryKey, _disposed.Token, forCallers: false);
        var flight = _flights.GetOrAdd(request.EntryKey, mine);
        return flight != mine ? (flight, flight.Issued, null) : (mine, 0, refresh.RunAsync(mine));
    }

    /// <summary>Frees a lease if this load still holds it (once Redis answers, if it does not now).</summary>
    private async Task<Verdict> TryReleaseAsync(Lease lease, FamilyCounters counters, IReadOnlyList<string>? tags = null, IReadOnlyList<long>? recorded = null)
    {
        try
        {
            return await _store.ReleaseAsync(lease, tags, recorded).ConfigureAwait(false) ? Verdict.Done : Verdict.Refused;
        }
        catch (Exception ex) when (RedisGuard.IsFailure(ex))
        {
            _abandoned.Add(lease);
            OnRedisFailure(counters, ex, Log.WriteFailed);
            return Verdict.Failed;
        }
    }

    /// <summary>
    /// One load of one key, top to bottom: its lease (held from the read, or waited for), the factory call, the
    /// lease-checked write-back and the local copy; what kind of load it is (<see cref="LoadMode"/>) is the one
    /// choice it makes. A flight's owner runs it (<see cref="RunAsync"/>) and joiners wait for the flight.
    /// </summary>
    /// <remarks>
    /// Every Redis call that decides what joiners may take (the call that found another loader's value, the
    /// write-back, the lease check of an uncached null) is numbered with the flight's <see cref="Flight.Issue"/>
    /// before it is sent (see <see cref="Flight"/>).
    /// <para>
    /// A refresh's stale entry comes boxed (<paramref name="stale"/>): a miss, which has none, carries a reference, not
    /// an empty entry's bytes.
    /// </para>
    /// </remarks>
    private sealed class KeyLoad<TState>(CacheFlowCache cache, LoadRequest<TState> request, LoadMode mode, Lease? lease, StrongBox<StoredEntry>? stale = null)
    {
        private LoadRequest<TState> _request = request;
        private Lease? _lease = lease;
        private Flight? _flight;
        private bool _running;
        private bool _ownerAwaits;

        public LoadMode Mode => mode;

        public string EntryKey => _request.EntryKey;

        public FamilyCounters Counters => _request.Counters;

        /// <summary>Whether its factory may use its caller's context, so runs only while that caller waits.</summary>
        public bool Inline => _request.Inline;

        /// <summary>The lease the read took, handed back by a caller that joins another load instead of running this one.</summary>
        public Lease? HandBackLease()
        {
            var held = _lease;
            _lease = null;
            return held;
        }

        /// <summary>
        /// Runs the load for its flight, decoupled from any one caller's cancellation; the flight carries the error, and
        /// the run throws it only for an owner that awaits the run (<paramref name="ownerAwaits"/>). The flight leaves
        /// the map before it completes, so a caller that comes later starts a new one.
        /// </summary>
        public Task<FlightResult> RunAsync(Flight? flight, bool ownerAwaits = false)
        {
            _flight = flight;
            _running = true;
            _ownerAwaits = ownerAwaits;
            return LoadAsync();
        }

        /// <summary>
        /// The load itself: its lease first (unless the read brought it), then the factory and the write-back. Run for
        /// a flight (<see cref="RunAsync"/>), it ends the flight too. One state machine for the whole miss: every
        /// <c>return</c> sets <c>result</c>, which the <c>finally</c> hands to the flight.
        /// </summary>
        public async Task<FlightResult> LoadAsync()
        {
            var result = FlightResult.Nothing;
            try
            {
                if (mode == LoadMode.WithoutRedis)
                    return result = await LoadWithoutRedisAsync().ConfigureAwait(false);
                if (mode == LoadMode.Leaseless)
                    return result = await LoadLeaselessAsync().ConfigureAwait(false);
                if (_lease is null)
                {
                    var settled = await AcquireAsync().ConfigureAwait(false);
                    if (settled.HasValue)
                        return result = settled.Value;
                }

                // The lease is read from the field where it is used, not kept in a local: the state machine stays smaller.
                Loaded loaded;
                // A write-back that fails (Redis hung or the circuit open) checked nothing: an invalidation may have
                // come and been kept pending (here or in another instance), so its value goes only to the callers
                // that joined before the source was read, as a load without Redis does.
                var loading = _flight?.Issue() ?? 0;
                var started = cache._time.GetTimestamp();
                try
                {
                    loaded = await CallFactoryAsync().ConfigureAwait(false);
                }
                catch (Exception ex) when (stale is not null)
                {
                    Log.RefreshFailed(cache._logger, ex, Counters.Family);
                    await KeepStaleAsync(_lease!.Value, stale.Value).ConfigureAwait(false);
                    return result = new FlightResult(stale.Value.Result(CacheOutcome.Stale), Shareable: false, 0);
                }
                catch
                {
                    await cache.TryReleaseAsync(_lease!.Value, Counters).ConfigureAwait(false);
                    throw;
                }

                var loadMilliseconds = (int)Math.Min(int.MaxValue, cache._time.GetElapsedTime(started).TotalMilliseconds);
                // The write-back (or the lease check) decides whether joiners may take the value.
                var call = _flight?.Issue() ?? 0;
                using var commit = CacheActivities.Start(CacheActivities.Commit, cache._options, Counters.Family);
                if (!Cacheable(loaded))
                {
                    // Nothing to cache. A null is still shareable if the lease held to the end (no invalidation of the key came
                    // after the read) and its tags' versions are the ones recorded before it (no removal by tag either).
                    var released = await cache.TryReleaseAsync(_lease!.Value, Counters, _request.Options.Tags, _request.TagVersions).ConfigureAwait(false);
                    commit?.SetTag(CacheActivities.CommitResult, released == Verdict.Failed ? "failed" : "released");
                    return result = new FlightResult(loaded.Result(CacheOutcome.Miss), Shareable: loaded.Kind == LoadedKind.Null && released != Verdict.Refused,
                        released == Verdict.Failed ? loading : call);
                }

                var header = cache.NewHeader(loaded, _request.Options, loadMilliseconds, _lease, out var ttl);
                var write = cache.StartWrite(_request.Key, loaded.Entry, header, _request.Options);
                Verdict written;
                if (cache.WritesOneScript(_request.Options, _lease))
                {
                    // The untagged write-back's one script, awaited here: the write has no state machine of its own.
                    // Sending it can fail as well as its answer (the circuit opened while the factory ran): both in the
                    // try. Its reply is awaited before the call that takes it, not among the call's arguments, and the
                    // other branch alone uses the header and time to live: either would keep more in this state machine
                    // (440 bytes with both, 384 without).
                    try
                    {
                        var landed = (int)await cache.BeginWrite(write, ttl, _lease).ConfigureAwait(false) == 1;
                        written = cache.Written(write, _request.Options, _lease, _request.Paths, landed);
                    }
                    catch (Exception ex) when (RedisGuard.IsFailure(ex))
                    {
                        written = cache.WriteFailed(write, _request.Options, _lease, _request.Paths, Counters, ex);
                    }
                }
                else
                {
                    written = await cache.WriteEntryAsync(_request.Key, Counters, loaded.Entry, header, ttl, _request.Options, _lease, _request.Paths, tagVersions: _request.TagVersions).ConfigureAwait(false);
                }

                commit?.SetTag(CacheActivities.CommitResult, written switch { Verdict.Done => "written", Verdict.Refused => "lease_lost", _ => "failed" });
                if (written == Verdict.Refused)
                    Counters.AddLeaseLost();
                return result = new FlightResult(loaded.Result(CacheOutcome.Miss), Shareable: written != Verdict.Refused, written == Verdict.Failed ? loading : call);
            }
            catch (Exception ex) when (_running)
            {
                // Run for a flight: the flight carries the error (a refresh with none logs it); only an owner awaiting the run sees it thrown.
                Leave();
                if (_flight is null)
                    Log.RefreshFailed(cache._logger, ex, Counters.Family);
                else
                    _flight.Completion.TrySetException(ex);
                if (_ownerAwaits)
                    throw;
                return FlightResult.Nothing;
            }
            finally
            {
                if (_running)
                {
                    Leave();
                    _flight?.Completion.TrySetResult(result);
                    _flight?.Finish();
                }
            }
        }

        /// <summary>
        /// Waits for the key's lease (polling with backoff) and takes it: null once it holds it, else what the load
        /// comes to without loading (another loader's value; for a refresh, nothing, as another process refreshes).
        /// A miss's lease is the entry key's placeholder, asked for by the same read that would find the value; a
        /// refresh's, or a load past an entry that is there but unusable, the lease key beside the entry.
        /// </summary>
        private async Task<FlightResult?> AcquireAsync()
        {
            var inEntry = mode == LoadMode.Load && cache._store.Leases;
            var started = Stopwatch.GetTimestamp();
            var poll = FirstPoll;
            var polled = false;
            Activity? wait = null;
            while (true)
            {
                var call = _flight?.Issue() ?? 0;
                var candidate = inEntry ? Lease.ForRead(_request.EntryKey) : Lease.Beside(_request.EntryKey);
                bool taken;
                bool held;
                StoredEntry? current;
                try
                {
                    if (inEntry)
                    {
                        var read = await cache._store.ReadAsync(_request.EntryKey, _request.Options.Tags, candidate).ConfigureAwait(false);
                        (current, taken, held) = (read.Entry, read.Lease == LeaseState.Taken, read.Lease == LeaseState.Held);
                        if (taken)
                            _request = _request with { TagVersions = read.Versions };
                        else if (!held && (current is null || current.Value.At(cache.NowMs) != Freshness.Fresh))
                        {
                            // An entry is there but not one to serve (another format, outdated tags, kept stale): the
                            // load goes past it under the lease key, at once.
                            inEntry = false;
                            continue;
                        }
                    }
                    else
                    {
                        (taken, current, var versions) = await cache._store.AcquireAsync(candidate, _request.Options.Tags).ConfigureAwait(false);
                        held = !taken;
                        _request = _request with { TagVersions = versions };
                    }
                }
                catch (Exception ex) when (RedisGuard.IsFailure(ex))
                {
                    // The call may have run and taken the lease all the same (a timeout is not a refusal).
                    cache._abandoned.Add(candidate);
                    cache.OnRedisFailure(Counters, ex, Log.ReadFailed);
                    EndWait(polled, started, wait, "redis_failed");
                    return stale is not null ? FlightResult.Nothing : await LoadWithoutRedisAsync().ConfigureAwait(false);
                }

                var fresh = current is { } found && found.At(cache.NowMs) == Freshness.Fresh;
                // A refresh is moot once the entry it saw is gone or replaced (refreshed, kept by fail-safe, or deleted).
                var moot = stale is not null && (current is null || current.Value.Header.Version != stale.Value.Header.Version);
                var outwaited = Stopwatch.GetElapsedTime(started) > cache._options.LeaseDuration * 2;
                if (fresh || taken || stale is not null || outwaited)
                    EndWait(polled, started, wait, fresh ? "value" : taken ? "lease" : "gave_up");
                if ((stale is null && fresh) || moot)
                {
                    if (taken)
                        await cache.TryReleaseAsync(candidate, Counters).ConfigureAwait(false);
                    return fresh ? new FlightResult(current!.Value.Result(CacheOutcome.Miss), Shareable: true, call) : FlightResult.Nothing;
                }

                if (taken)
                {
                    _lease = candidate;
                    return null;
                }

                if (stale is not null)
                    return FlightResult.Nothing;
                if (outwaited)
                {
                    // The lease outlived its timeout many times over (a clock or server problem): load, but cache nothing.
                    Log.LeaseWaitExpired(cache._logger, Counters.Family);
                    var loaded = await CallFactoryAsync().ConfigureAwait(false);
                    return new FlightResult(loaded.Result(CacheOutcome.Miss), Shareable: false, 0);
                }

                // Another loader holds the lease: from here on this read waits for it.
                wait ??= CacheActivities.Start(CacheActivities.LeaseWait, cache._options, Counters.Family);
                await Task.Delay(poll, cache._disposed.Token).ConfigureAwait(false);
                poll = TimeSpan.FromTicks(Math.Min(poll.Ticks * 2, LongestPoll.Ticks));
                polled = true;
            }
        }

        /// <summary>
        /// Calls the factory, counting the load, its duration and its failure. Its token is the flight's (cancelled
        /// when every waiting caller gave up), or, with no flight, cancelled only when the cache is disposed.
        /// </summary>
        private async ValueTask<Loaded> CallFactoryAsync()
        {
            var started = cache._time.GetTimestamp();
            using var activity = CacheActivities.Start(CacheActivities.Load, cache._options, Counters.Family);
            try
            {
                var loaded = await _request.Load(_request.State, _flight?.Token ?? cache._disposed.Token).ConfigureAwait(false);
                cache._metrics.RecordLoad(Counters, _request.Key, cache._time.GetElapsedTime(started));
                return loaded;
            }
            catch (Exception ex)
            {
                cache._metrics.RecordLoad(Counters, _request.Key, cache._time.GetElapsedTime(started));
                Counters.AddLoadFailure();
                CacheActivities.Fail(activity, ex);
                throw;
            }
        }

        /// <summary>
        /// Redis is down or hung: load without caching (<see cref="CacheOutcome.Bypass"/>). Callers that joined the
        /// flight before the load began share it, to spare the source.
        /// </summary>
        private async Task<FlightResult> LoadWithoutRedisAsync()
        {
            var loading = _flight?.Issue() ?? 0;
            var loaded = await CallFactoryAsync().ConfigureAwait(false);
            return new FlightResult(loaded.Result(CacheOutcome.Bypass), Shareable: !loaded.Uncacheable, loading);
        }

        /// <summary>
        /// A load whose paths leave out reading or writing Redis: nothing to take a lease against, so it is shared only
        /// in this process. Its value is written through to Redis if the paths allow (revoking loads in progress
        /// elsewhere), else kept in the L1 alone, stamped as of before the read.
        /// </summary>
        private async Task<FlightResult> LoadLeaselessAsync()
        {
            IReadOnlyList<long>? versions = null;
            if (_request.Paths.HasFlag(EntryPaths.RemoteWrite) && _request.Options.Tags.Count > 0 && cache._store.TagVersions)
            {
                try
                {
                    // Recorded before the source is read, as a load under a lease records them.
                    versions = await cache._store.TakeTagVersionsAsync(_request.Options.Tags).ConfigureAwait(false);
                }
                catch (Exception ex) when (RedisGuard.IsFailure(ex))
                {
                    cache.OnRedisFailure(Counters, ex, Log.WriteFailed);
                    return await LoadWithoutRedisAsync().ConfigureAwait(false);
                }
            }

            var loading = _flight?.Issue() ?? 0;
            var loaded = await CallFactoryAsync().ConfigureAwait(false);
            var result = loaded.Result(CacheOutcome.Miss);
            if (!Cacheable(loaded))
                return new FlightResult(result, Shareable: !loaded.Uncacheable, loading);
            if (_request.Paths.HasFlag(EntryPaths.RemoteWrite))
                await cache.WriteAsync(_request.Key, Counters, loaded, _request.Options, loadMilliseconds: 0, lease: null, _request.Paths, tagVersions: versions).ConfigureAwait(false);
            else if (cache._local is not null && _request.Paths.HasFlag(EntryPaths.LocalWrite))
                cache._local.Set(_request.Key, new StoredEntry(cache.NewHeader(loaded, _request.Options, loadMilliseconds: 0, lease: null, out _), loaded.Entry), _request.Options, _request.Stamp);
            return new FlightResult(result, Shareable: true, loading);
        }

        /// <summary>
        /// Fail-safe: a refresh failed, so the stale value stays, marked stale, and is served without calling the
        /// source again for the throttle duration. The rewrite is lease-checked like any write-back: an invalidation
        /// since the refresh began wins, and the deleted value is not resurrected.
        /// </summary>
        private async Task KeepStaleAsync(Lease held, StoredEntry kept)
        {
            var now = cache.NowMs;
            var throttle = (long)cache._options.FailSafeThrottleDuration.TotalMilliseconds;
            if (throttle <= 0 || kept.Header.HardExpiresAt - now <= 0)
            {
                await cache.TryReleaseAsync(held, Counters).ConfigureAwait(false);
                return;
            }

            var entry = kept.Bytes.ToArray();
            var header = kept.Header with
            {
                Flags = kept.Header.Flags | CacheEntryFlags.Stale,
                SoftExpiresAt = Math.Min(now + throttle, kept.Header.HardExpiresAt),
                Version = held.Token,
            };
            await cache.WriteEntryAsync(_request.Key, Counters, entry, header, TimeSpan.FromMilliseconds(kept.Header.HardExpiresAt - now), DefaultEntryOptions, held, _request.Paths).ConfigureAwait(false);
        }

        /// <summary>Whether a loaded value is to be cached: not one the factory refused, not a null when nulls are not kept.</summary>
        private bool Cacheable(Loaded loaded) =>
            !loaded.Uncacheable && (loaded.Kind != LoadedKind.Null || cache.NullDuration(_request.Options) > TimeSpan.Zero);

        /// <summary>A read stops waiting for another loader's lease (it has the value, the lease, or gave up): how long it waited, and its span.</summary>
        private void EndWait(bool polled, long started, Activity? wait, string result)
        {
            if (polled)
                cache._metrics.RecordLeaseWait(Counters, Stopwatch.GetElapsedTime(started));
            wait?.SetTag(CacheActivities.LeaseResult, result);
            wait?.Dispose();
        }

        private void Leave()
        {
            if (_flight is not null)
                cache._flights.TryRemove(KeyValuePair.Create(_flight.EntryKey, _flight));
        }
    }
}
