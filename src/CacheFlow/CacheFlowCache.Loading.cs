using System.Diagnostics;
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
    /// A miss: join this process's flight for the key, or start one. A joiner takes the flight's result only if it is
    /// shareable (committed, or checked against the lease) and was decided after it joined; otherwise it starts over,
    /// so it never returns a value that an invalidation it could have seen revoked. When Redis has just failed
    /// (<paramref name="reachable"/> false), the load does not ask it again and caches nothing. A read that took the
    /// lease as it read (<paramref name="heldLease"/>) loads under it if it starts the flight, else hands it back.
    /// </summary>
    private async ValueTask<CacheResult> LoadSharedAsync<TState>(LoadRequest<TState> request, bool reachable, CancellationToken cancellationToken, long? heldLease = null)
    {
        if (SingleFlight)
        {
            for (var join = 0; join < MaxJoins; join++)
            {
                var mine = new Flight(request.EntryKey, _disposed.Token, abandonable: true);
                var flight = _flights.GetOrAdd(request.EntryKey, mine);
                if (flight == mine)
                {
                    var run = RunFlightAsync(request, mine, stale: null, reachable, heldLease);
                    // An inline factory may use this caller's context, so the caller stays until it is done.
                    if (request.Inline)
                        await run.ConfigureAwait(false);
                    return (await mine.WaitAsync(cancellationToken).ConfigureAwait(false)).Result;
                }

                // Not started: its token source, linked to the cache's, must not stay registered there.
                mine.Finish();
                if (heldLease is { } held)
                {
                    // Another caller here loads the key: it needs the lease this read took.
                    heldLease = null;
                    await TryReleaseAsync(request, held).ConfigureAwait(false);
                }

                var joinedAt = flight.Issued;
                FlightResult shared;
                try
                {
                    shared = await flight.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // The flight was abandoned by the callers before this one (or its inline owner's request ended): start over.
                    continue;
                }

                if (shared.SharesWith(joinedAt))
                    return shared.Result with { Outcome = shared.Result.Outcome == CacheOutcome.Bypass ? CacheOutcome.Bypass : CacheOutcome.Miss };
            }
        }

        var lone = heldLease is { } lease
            ? LoadAndCommitAsync(request, flight: null, lease, stale: null)
            : LoadByPathAsync(request, flight: null, stale: null, reachable);
        return (await lone.ConfigureAwait(false)).Result;
    }

    /// <summary>
    /// The load a read's paths allow: under the lease when it may read and write Redis; without Redis when it just
    /// failed; otherwise without a lease, written where the paths allow (a write-through, or the L1 alone).
    /// </summary>
    private Task<FlightResult> LoadByPathAsync<TState>(LoadRequest<TState> request, Flight? flight, StoredEntry? stale, bool reachable) =>
        !reachable ? LoadWithoutRedisAsync(request, flight)
        : stale is null && !request.Paths.HasFlag(EntryPaths.RemoteRead | EntryPaths.RemoteWrite) ? LoadLeaselessAsync(request, flight)
        : LoadAsync(request, flight, stale);

    /// <summary>
    /// Starts a background refresh of a stale (or nearly expired) entry unless a load of the key is running; returns
    /// the running flight, how many deciding calls it had issued when this caller joined, and the refresh's task if
    /// this caller started it.
    /// </summary>
    private (Flight? Flight, long JoinedAt, Task? Started) StartRefresh<TState>(LoadRequest<TState> request, StoredEntry stale)
    {
        if (!SingleFlight)
            return (null, 0, RunFlightAsync(request, null, stale));

        var mine = new Flight(request.EntryKey, _disposed.Token, abandonable: false);
        var flight = _flights.GetOrAdd(request.EntryKey, mine);
        return flight != mine ? (flight, flight.Issued, null) : (mine, 0, RunFlightAsync(request, mine, stale));
    }

    /// <summary>
    /// Runs a load for its flight, decoupled from any one caller's cancellation; never throws (the flight carries the
    /// error). The flight leaves the map before it completes, so a caller that comes later starts a new one.
    /// </summary>
    private async Task RunFlightAsync<TState>(LoadRequest<TState> request, Flight? flight, StoredEntry? stale, bool reachable = true, long? heldLease = null)
    {
        try
        {
            var result = await (heldLease is { } lease ? LoadAndCommitAsync(request, flight, lease, stale) : LoadByPathAsync(request, flight, stale, reachable)).ConfigureAwait(false);
            Leave(flight);
            flight?.Completion.TrySetResult(result);
        }
        catch (Exception ex)
        {
            Leave(flight);
            if (flight is null)
                Log.RefreshFailed(_logger, ex, request.Counters.Family);
            else
                flight.Completion.TrySetException(ex);
        }
        finally
        {
            flight?.Finish();
        }
    }

    /// <summary>
    /// Takes the key's lease and loads, or waits for the process that holds it (polling with backoff), or — for a
    /// refresh (<paramref name="stale"/> set) — gives up if another process is already refreshing.
    /// </summary>
    private async Task<FlightResult> LoadAsync<TState>(LoadRequest<TState> request, Flight? flight, StoredEntry? stale)
    {
        var token = Random.Shared.NextInt64(1, long.MaxValue);
        var started = Stopwatch.GetTimestamp();
        var poll = FirstPoll;
        var polled = false;
        Activity? wait = null;
        while (true)
        {
            var call = flight?.Issue() ?? 0;
            bool taken;
            StoredEntry? current;
            try
            {
                (taken, current, var versions) = await _store.AcquireAsync(request.EntryKey, token, request.Options.Tags).ConfigureAwait(false);
                request = request with { TagVersions = versions };
            }
            catch (Exception ex) when (RedisGuard.IsFailure(ex))
            {
                // The script may have run and taken the lease all the same (a timeout is not a refusal).
                _abandoned.Add(request.EntryKey, token);
                OnRedisFailure(request.Counters, ex, Log.ReadFailed);
                EndLeaseWait(request.Counters, polled, started, wait, "redis_failed");
                return stale is not null ? FlightResult.Nothing : await LoadWithoutRedisAsync(request, flight).ConfigureAwait(false);
            }

            var fresh = current is { } c && c.At(NowMs) == Freshness.Fresh;
            // A refresh is moot once the entry it saw is gone or replaced (refreshed, kept by fail-safe, or deleted).
            var moot = stale is not null && (current is null || current.Value.Header.Version != stale.Value.Header.Version);
            var outwaited = Stopwatch.GetElapsedTime(started) > _options.LeaseDuration * 2;
            if (fresh || taken || stale is not null || outwaited)
                EndLeaseWait(request.Counters, polled, started, wait, fresh ? "value" : taken ? "lease" : "gave_up");
            if ((stale is null && fresh) || moot)
            {
                if (taken)
                    await TryReleaseAsync(request, token).ConfigureAwait(false);
                return fresh ? new FlightResult(current!.Value.Result(CacheOutcome.Miss), Shareable: true, call) : FlightResult.Nothing;
            }

            if (taken)
                return await LoadAndCommitAsync(request, flight, token, stale).ConfigureAwait(false);
            if (stale is not null)
                return FlightResult.Nothing;
            if (outwaited)
            {
                // The lease outlived its timeout many times over (a clock or server problem): load, but cache nothing.
                Log.LeaseWaitExpired(_logger, request.Counters.Family);
                var loaded = await LoadValueAsync(request, flight).ConfigureAwait(false);
                return new FlightResult(loaded.Result(CacheOutcome.Miss), Shareable: false, 0);
            }

            // Another loader holds the lease: from here on this read waits for it.
            wait ??= CacheActivities.Start(CacheActivities.LeaseWait, _options, request.Counters.Family);
            await Task.Delay(poll, _disposed.Token).ConfigureAwait(false);
            poll = TimeSpan.FromTicks(Math.Min(poll.Ticks * 2, LongestPoll.Ticks));
            polled = true;
        }
    }

    /// <summary>A read stops waiting for another loader's lease (it has the value, the lease, or gave up): how long it waited, and its span.</summary>
    private void EndLeaseWait(FamilyCounters counters, bool polled, long started, Activity? wait, string result)
    {
        if (polled)
            _metrics.RecordLeaseWait(counters, Stopwatch.GetElapsedTime(started));
        wait?.SetTag(CacheActivities.LeaseResult, result);
        wait?.Dispose();
    }

    /// <summary>Runs the factory under the lease and writes its result back only if the lease still holds.</summary>
    private async Task<FlightResult> LoadAndCommitAsync<TState>(LoadRequest<TState> request, Flight? flight, long token, StoredEntry? stale)
    {
        Loaded loaded;
        var started = _time.GetTimestamp();
        try
        {
            loaded = await LoadValueAsync(request, flight).ConfigureAwait(false);
        }
        catch (Exception ex) when (stale is not null)
        {
            Log.RefreshFailed(_logger, ex, request.Counters.Family);
            await KeepStaleAsync(request, token, stale.Value).ConfigureAwait(false);
            return new FlightResult(stale.Value.Result(CacheOutcome.Stale), Shareable: false, 0);
        }
        catch
        {
            await TryReleaseAsync(request, token).ConfigureAwait(false);
            throw;
        }

        var loadMilliseconds = (int)Math.Min(int.MaxValue, _time.GetElapsedTime(started).TotalMilliseconds);
        // The write-back (or the lease check) decides whether joiners may take the value.
        var call = flight?.Issue() ?? 0;
        var result = loaded.Result(CacheOutcome.Miss);
        using var commit = CacheActivities.Start(CacheActivities.Commit, _options, request.Counters.Family);
        if (loaded.Uncacheable || (loaded.Kind == LoadedKind.Null && NullDuration(request.Options) <= TimeSpan.Zero))
        {
            // Nothing to cache. A null is still shareable if the lease held to the end: no invalidation came after the read.
            var released = await TryReleaseAsync(request, token).ConfigureAwait(false);
            commit?.SetTag(CacheActivities.CommitResult, released is null ? "failed" : "released");
            return new FlightResult(result, Shareable: loaded.Kind == LoadedKind.Null && released != false, call);
        }

        var written = await WriteAsync(request.Key, request.Counters, loaded, request.Options, loadMilliseconds, token, request.Paths, tagVersions: request.TagVersions).ConfigureAwait(false);
        commit?.SetTag(CacheActivities.CommitResult, written switch { true => "written", false => "lease_lost", null => "failed" });
        if (written == false)
            request.Counters.AddLeaseLost();
        return new FlightResult(result, Shareable: written != false, call);
    }

    /// <summary>
    /// Calls the factory, counting the load, its duration and its failure. Its token is the flight's (cancelled when
    /// every waiting caller gave up), or, with no flight, cancelled only when the cache is disposed.
    /// </summary>
    private async ValueTask<Loaded> LoadValueAsync<TState>(LoadRequest<TState> request, Flight? flight)
    {
        var started = _time.GetTimestamp();
        using var activity = CacheActivities.Start(CacheActivities.Load, _options, request.Counters.Family);
        try
        {
            var loaded = await request.Load(request.State, flight?.Token ?? _disposed.Token).ConfigureAwait(false);
            _metrics.RecordLoad(request.Counters, request.Key, _time.GetElapsedTime(started));
            return loaded;
        }
        catch (Exception ex)
        {
            _metrics.RecordLoad(request.Counters, request.Key, _time.GetElapsedTime(started));
            request.Counters.AddLoadFailure();
            CacheActivities.Fail(activity, ex);
            throw;
        }
    }

    /// <summary>
    /// Fail-safe: a refresh failed, so the stale value stays, marked stale, and is served without calling the source
    /// again for the throttle duration. The rewrite is lease-checked like any write-back: an invalidation since the
    /// refresh began wins, and the deleted value is not resurrected.
    /// </summary>
    private async Task KeepStaleAsync<TState>(LoadRequest<TState> request, long token, StoredEntry stale)
    {
        var now = NowMs;
        var throttle = (long)_options.FailSafeThrottleDuration.TotalMilliseconds;
        if (throttle <= 0 || stale.Header.HardExpiresAt - now <= 0)
        {
            await TryReleaseAsync(request, token).ConfigureAwait(false);
            return;
        }

        var entry = stale.Bytes.ToArray();
        var header = stale.Header with
        {
            Flags = stale.Header.Flags | CacheEntryFlags.Stale,
            SoftExpiresAt = Math.Min(now + throttle, stale.Header.HardExpiresAt),
            Version = token,
        };
        await WriteEntryAsync(request.Key, request.Counters, entry, header, TimeSpan.FromMilliseconds(stale.Header.HardExpiresAt - now), DefaultEntryOptions, token, request.Paths).ConfigureAwait(false);
    }

    /// <summary>
    /// Redis is down or hung: load without caching (<see cref="CacheOutcome.Bypass"/>). Callers that joined the flight
    /// before the load began share it, to spare the source.
    /// </summary>
    private async Task<FlightResult> LoadWithoutRedisAsync<TState>(LoadRequest<TState> request, Flight? flight)
    {
        var loading = flight?.Issue() ?? 0;
        var loaded = await LoadValueAsync(request, flight).ConfigureAwait(false);
        return new FlightResult(loaded.Result(CacheOutcome.Bypass), Shareable: !loaded.Uncacheable, loading);
    }

    /// <summary>
    /// A load whose paths leave out reading or writing Redis: nothing to take a lease against, so it is shared only in
    /// this process. Its value is written through to Redis if the paths allow (revoking loads in progress elsewhere),
    /// else kept in the L1 alone, stamped as of before the read.
    /// </summary>
    private async Task<FlightResult> LoadLeaselessAsync<TState>(LoadRequest<TState> request, Flight? flight)
    {
        IReadOnlyList<long>? versions = null;
        if (request.Paths.HasFlag(EntryPaths.RemoteWrite) && request.Options.Tags.Count > 0 && _store.TagVersions)
        {
            try
            {
                // Recorded before the source is read, as a load under a lease records them.
                versions = await _store.TakeTagVersionsAsync(request.Options.Tags).ConfigureAwait(false);
            }
            catch (Exception ex) when (RedisGuard.IsFailure(ex))
            {
                OnRedisFailure(request.Counters, ex, Log.WriteFailed);
                return await LoadWithoutRedisAsync(request, flight).ConfigureAwait(false);
            }
        }

        var loading = flight?.Issue() ?? 0;
        var loaded = await LoadValueAsync(request, flight).ConfigureAwait(false);
        var result = loaded.Result(CacheOutcome.Miss);
        if (loaded.Uncacheable || (loaded.Kind == LoadedKind.Null && NullDuration(request.Options) <= TimeSpan.Zero))
            return new FlightResult(result, Shareable: !loaded.Uncacheable, loading);
        if (request.Paths.HasFlag(EntryPaths.RemoteWrite))
            await WriteAsync(request.Key, request.Counters, loaded, request.Options, loadMilliseconds: 0, token: null, request.Paths, tagVersions: versions).ConfigureAwait(false);
        else if (_local is not null && request.Paths.HasFlag(EntryPaths.LocalWrite))
            _local.Set(request.Key, new StoredEntry(NewHeader(loaded, request.Options, loadMilliseconds: 0, token: null, out _), loaded.Entry), request.Options, request.Stamp);
        return new FlightResult(result, Shareable: true, loading);
    }

    /// <summary>
    /// Frees the lease if this load still holds it. True if it did, false if it was revoked, null if Redis failed (it is
    /// then released once Redis answers).
    /// </summary>
    private Task<bool?> TryReleaseAsync<TState>(LoadRequest<TState> request, long token) => TryReleaseAsync(request.EntryKey, request.Counters, token);

    private async Task<bool?> TryReleaseAsync(string entryKey, FamilyCounters counters, long token)
    {
        try
        {
            return await _store.ReleaseAsync(entryKey, token).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisGuard.IsFailure(ex))
        {
            _abandoned.Add(entryKey, token);
            OnRedisFailure(counters, ex, Log.WriteFailed);
            return null;
        }
    }

    private void Leave(Flight? flight)
    {
        if (flight is not null)
            _flights.TryRemove(KeyValuePair.Create(flight.EntryKey, flight));
    }

}
