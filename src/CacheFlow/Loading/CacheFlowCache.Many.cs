using System.Buffers;
using CacheFlow.Logging;
using CacheFlow.Metrics;
using CacheFlow.Redis;
using CacheFlow.Tracing;
using Microsoft.Extensions.Caching.Hybrid;

namespace CacheFlow;

/// <summary>
/// Many keys in one call: the L1, then one script that reads every key and takes the leases of its misses (one per
/// hash slot on a cluster), one factory call for every key to load, and one script for the write-backs. Each key keeps the single read's
/// guarantees: a lease-checked write-back, a background refresh of a stale entry, and a key whose lease another caller
/// holds waited for as a single read waits (its value comes from that load, or from the factory called for that key).
/// </summary>
public sealed partial class CacheFlowCache
{
    /// <inheritdoc />
    public ValueTask<IReadOnlyDictionary<string, CacheResult>> GetOrCreateManyJsonAsync<T>(
        IEnumerable<string> keys, Func<IReadOnlyList<string>, CancellationToken, ValueTask<IReadOnlyDictionary<string, T>>> factory,
        CacheEntryOptions? options = null, CancellationToken cancellationToken = default) =>
        GetOrCreateManyEncodedAsync(keys, factory, JsonOf<T>(), options, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<IReadOnlyDictionary<string, CacheResult<T?>>> GetOrCreateManyAsync<T>(
        IEnumerable<string> keys, Func<IReadOnlyList<string>, CancellationToken, ValueTask<IReadOnlyDictionary<string, T>>> factory,
        CacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        var serializer = JsonSerializerOf<T>();
        var read = await GetOrCreateManyEncodedAsync(keys, factory, serializer, options, cancellationToken).ConfigureAwait(false);
        return read.ToDictionary(
            static pair => pair.Key,
            pair => new CacheResult<T?>(pair.Value.Outcome, pair.Value.IsNull ? default : serializer.Deserialize(new ReadOnlySequence<byte>(pair.Value.Json))),
            StringComparer.Ordinal);
    }

    /// <summary>The batch read behind both APIs, each loaded value stored as <paramref name="serializer"/> writes it.</summary>
    private async ValueTask<IReadOnlyDictionary<string, CacheResult>> GetOrCreateManyEncodedAsync<T>(
        IEnumerable<string> keys, Func<IReadOnlyList<string>, CancellationToken, ValueTask<IReadOnlyDictionary<string, T>>> factory,
        IHybridCacheSerializer<T> serializer, CacheEntryOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(factory);
        var batch = new Batch<T>(factory, serializer, options ?? DefaultEntryOptions);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var toRead = new List<BatchKey>();
        foreach (var key in keys)
        {
            ArgumentException.ThrowIfNullOrEmpty(key);
            if (!seen.Add(key))
                continue;
            if (LocalHit(key) is { } local)
            {
                batch.Results[key] = local.Stored.Result(CacheOutcome.Hit) with { FromLocal = true };
                continue;
            }

            var counters = _metrics.For(key);
            var batchKey = new BatchKey(key, _keys.Entry(key), counters);
            if (_pending.Covers(batchKey.EntryKey, batch.Options.Tags))
            {
                batchKey.Counters.AddBypass();
                batch.Uncached.Add(batchKey);
            }
            else
            {
                toRead.Add(batchKey with { Stamp = _local?.Stamp(batchKey.Key, batch.Options.Tags) ?? 0 });
            }
        }

        await ReadManyAsync(batch, toRead).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        if (batch.ToLoad.Count + batch.Uncached.Count > 0)
            await LoadManyAsync(batch, cancellationToken).ConfigureAwait(false);

        // Another caller holds these leases: each waits for that load as a single read would.
        var waited = await Task.WhenAll(batch.WaitFor.Select(k =>
            GetOrCreateEncodedAsync(k.Key, ct => LoadOneAsync(factory, k.Key, ct), serializer, batch.Options, cancellationToken).AsTask())).ConfigureAwait(false);
        for (var i = 0; i < batch.WaitFor.Count; i++)
            batch.Results[batch.WaitFor[i].Key] = waited[i];
        return batch.Results;
    }

    /// <summary>
    /// One read-or-lease script per hash slot (<see cref="RedisScripts.ReadOrLeaseMany"/>), each key sorted into the
    /// results (hit, stale), the keys to load (lease taken), the keys to wait for (another caller's lease, or an
    /// entry past its expiry: a single read handles it) or the keys to load uncached (Redis failed).
    /// </summary>
    private async Task ReadManyAsync<T>(Batch<T> batch, List<BatchKey> toRead)
    {
        if (toRead.Count == 0)
            return;
        var leases = toRead.ConvertAll(static k => Lease.ForRead(k.EntryKey));
        var tags = batch.Options.Tags;
        (StoredEntry? Entry, bool Taken)?[] replies;
        try
        {
            // The tags' versions before any lease is taken (and the source read): every key's check and write-back.
            batch.TagVersions = tags.Count > 0 && _store.TagVersions ? await _store.TakeTagVersionsAsync(tags).ConfigureAwait(false) : null;
            replies = await _store.ReadOrLeaseManyAsync(leases, tags, batch.TagVersions, ex => OnRedisFailure(toRead[0].Counters, ex, Log.ReadFailed)).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisGuard.IsFailure(ex))
        {
            OnRedisFailure(toRead[0].Counters, ex, Log.ReadFailed);
            replies = new (StoredEntry? Entry, bool Taken)?[toRead.Count];
        }
        var now = NowMs;
        for (var i = 0; i < toRead.Count; i++)
        {
            var key = toRead[i] with { Lease = leases[i] };
            if (replies[i] is not var (stored, taken))
            {
                // Its script failed, perhaps after taking the lease.
                _abandoned.Add(key.Lease);
                key.Counters.AddBypass();
                batch.Uncached.Add(key);
                continue;
            }

            switch (stored?.At(now))
            {
                case Freshness.Fresh:
                    key.Counters.AddHit();
                    _local?.Set(key.Key, stored.Value, batch.Options, key.Stamp);
                    batch.Results[key.Key] = stored.Value.Result(CacheOutcome.Hit);
                    break;
                case Freshness.Throttled:
                    key.Counters.AddStale();
                    batch.Results[key.Key] = stored.Value.Result(CacheOutcome.Stale);
                    break;
                case Freshness.Stale:
                    key.Counters.AddStale();
                    StartRefresh(OneKeyRequest(batch, key), stored.Value);
                    batch.Results[key.Key] = stored.Value.Result(CacheOutcome.Stale);
                    break;
                case Freshness.Expired:
                    batch.WaitFor.Add(key);
                    break;
                default:
                    key.Counters.AddMiss();
                    (taken ? batch.ToLoad : batch.WaitFor).Add(key);
                    break;
            }
        }
    }

    /// <summary>
    /// One factory call for every key this batch loads, then the lease-checked write-backs: one script per hash slot
    /// for untagged entries (<see cref="RedisScripts.FillMany"/>), the single write-back for tagged ones.
    /// </summary>
    private async Task LoadManyAsync<T>(Batch<T> batch, CancellationToken cancellationToken)
    {
        IReadOnlyDictionary<string, T> values;
        var started = _time.GetTimestamp();
        var loading = batch.ToLoad.Concat(batch.Uncached).ToList();
        var activity = CacheActivities.Start(CacheActivities.Load, _options, family: null);
        activity?.SetTag(CacheActivities.BatchSize, loading.Count);
        try
        {
            values = await batch.Factory(loading.ConvertAll(k => k.Key), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            CacheActivities.Fail(activity, ex);
            activity?.Dispose();
            foreach (var key in loading)
            {
                _metrics.RecordLoad(key.Counters, key.Key, _time.GetElapsedTime(started));
                key.Counters.AddLoadFailure();
            }

            await Task.WhenAll(batch.ToLoad.Select(k => TryReleaseAsync(k.Lease, k.Counters))).ConfigureAwait(false);
            throw;
        }

        activity?.Dispose();
        var elapsed = _time.GetElapsedTime(started);
        var loadMilliseconds = (int)Math.Min(int.MaxValue, elapsed.TotalMilliseconds);
        var singles = new List<Task>();
        var commits = new List<(BatchKey Key, Memory<byte> Entry, CacheEntry Header, long TtlMs, long Stamp)>();
        var cached = batch.ToLoad.Select(k => k.Key).ToHashSet(StringComparer.Ordinal);
        foreach (var key in loading)
        {
            _metrics.RecordLoad(key.Counters, key.Key, elapsed);
            var loaded = values.TryGetValue(key.Key, out var value) && value is not null ? new Loaded(Encode(value, batch.Serializer), LoadedKind.Value) : Loaded.Null;
            batch.Results[key.Key] = loaded.Result(cached.Contains(key.Key) ? CacheOutcome.Miss : CacheOutcome.Bypass);
            if (!cached.Contains(key.Key))
                continue;
            if (loaded.Kind == LoadedKind.Null && NullDuration(batch.Options) <= TimeSpan.Zero)
            {
                singles.Add(TryReleaseAsync(key.Lease, key.Counters));
            }
            else if (batch.Options.Tags.Count > 0)
            {
                singles.Add(WriteBackAsync(key, loaded, batch.Options, loadMilliseconds, batch.TagVersions));
            }
            else
            {
                var header = NewHeader(loaded, batch.Options, loadMilliseconds, key.Lease, out var ttl);
                header.WriteHeader(loaded.Entry.Span);
                // Taken before the write: the copy kept here is dropped if anything invalidates the key meanwhile.
                commits.Add((key, loaded.Entry, header, Math.Max(1, (long)ttl.TotalMilliseconds), _local?.Stamp(key.Key, batch.Options.Tags) ?? 0));
            }
        }

        if (commits.Count > 0)
        {
            var written = await _store.CommitManyAsync(commits.ConvertAll(c => (c.Key.Lease, (ReadOnlyMemory<byte>)c.Entry, c.TtlMs)),
                ex => OnRedisFailure(commits[0].Key.Counters, ex, Log.WriteFailed)).ConfigureAwait(false);
            for (var i = 0; i < commits.Count; i++)
            {
                if (written[i] == true)
                    _local?.Set(commits[i].Key.Key, new StoredEntry(commits[i].Header, commits[i].Entry), batch.Options, commits[i].Stamp);
                else if (written[i] == false)
                    commits[i].Key.Counters.AddLeaseLost();
                else
                    _abandoned.Add(commits[i].Key.Lease);
            }
        }

        await Task.WhenAll(singles).ConfigureAwait(false);
    }

    private async Task WriteBackAsync(BatchKey key, Loaded loaded, CacheEntryOptions options, int loadMilliseconds, IReadOnlyList<long>? tagVersions)
    {
        if (loaded.Kind == LoadedKind.Null && NullDuration(options) <= TimeSpan.Zero)
            await TryReleaseAsync(key.Lease, key.Counters).ConfigureAwait(false);
        else if (await WriteAsync(key.Key, key.Counters, loaded, options, loadMilliseconds, key.Lease, tagVersions: tagVersions).ConfigureAwait(false) == Verdict.Refused)
            key.Counters.AddLeaseLost();
    }

    /// <summary>A single read's request for one key of a batch, its factory the batch's called for that key (a refresh).</summary>
    private LoadRequest<(Batch<T> Batch, string Key)> OneKeyRequest<T>(Batch<T> batch, BatchKey key) =>
        new(key.Key, key.EntryKey, (batch, key.Key), static async (s, ct) =>
        {
            var values = await s.Batch.Factory([s.Key], ct).ConfigureAwait(false);
            return values.TryGetValue(s.Key, out var value) && value is not null ? new Loaded(Encode(value, s.Batch.Serializer), LoadedKind.Value) : Loaded.Null;
        }, batch.Options, key.Counters, Inline: false);

    // A key the factory left out is null, cached as a batch caches it.
    private static async ValueTask<T> LoadOneAsync<T>(Func<IReadOnlyList<string>, CancellationToken, ValueTask<IReadOnlyDictionary<string, T>>> factory, string key, CancellationToken cancellationToken) =>
        (await factory([key], cancellationToken).ConfigureAwait(false)).TryGetValue(key, out var value) ? value : default!;

    /// <summary>One batch call: its factory, serializer and options, and where each key stands.</summary>
    private sealed class Batch<T>(Func<IReadOnlyList<string>, CancellationToken, ValueTask<IReadOnlyDictionary<string, T>>> factory, IHybridCacheSerializer<T> serializer, CacheEntryOptions options)
    {
        public Func<IReadOnlyList<string>, CancellationToken, ValueTask<IReadOnlyDictionary<string, T>>> Factory { get; } = factory;

        public IHybridCacheSerializer<T> Serializer { get; } = serializer;

        public CacheEntryOptions Options { get; } = options;

        public Dictionary<string, CacheResult> Results { get; } = new(StringComparer.Ordinal);

        /// <summary>Keys whose lease this batch took.</summary>
        public List<BatchKey> ToLoad { get; } = [];

        /// <summary>Keys loaded without caching (Redis failed, or an invalidation of them is pending).</summary>
        public List<BatchKey> Uncached { get; } = [];

        /// <summary>Keys whose lease another caller holds.</summary>
        public List<BatchKey> WaitFor { get; } = [];

        /// <summary>The versions of the batch's tags, taken before its leases: what its write-backs record.</summary>
        public IReadOnlyList<long>? TagVersions { get; set; }
    }

    /// <summary>One key of a batch: its entry key, counters, the L1 stamp taken before the read, and its lease.</summary>
    private readonly record struct BatchKey(string Key, string EntryKey, FamilyCounters Counters)
    {
        public long Stamp { get; init; }

        public Lease Lease { get; init; }
    }
}
