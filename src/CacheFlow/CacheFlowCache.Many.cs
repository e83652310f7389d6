using System.Buffers;
using CacheFlow.Metrics;
using CacheFlow.Redis;
using Microsoft.Extensions.Caching.Hybrid;

namespace CacheFlow;

/// <summary>
/// Many keys in one call: the L1, then one MGET (one per hash slot on a cluster), leases for the misses sent together,
/// one factory call for every key to load, and the write-backs sent together. Each key keeps the single read's
/// guarantees: a lease-checked write-back, a background refresh of a stale entry, and a key whose lease another caller
/// holds waited for as a single read waits (its value comes from that load, or from the factory called for that key).
/// </summary>
public sealed partial class CacheFlowCache
{
    /// <inheritdoc />
    public async ValueTask<IReadOnlyDictionary<string, CacheResult>> GetOrCreateManyJsonAsync<T>(
        IEnumerable<string> keys, Func<IReadOnlyList<string>, CancellationToken, ValueTask<IReadOnlyDictionary<string, T>>> factory,
        CacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(factory);
        var batch = new Batch<T>(factory, JsonSerializerOf<T>(), options ?? DefaultEntryOptions);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var toRead = new List<BatchKey>();
        foreach (var key in keys)
        {
            ArgumentException.ThrowIfNullOrEmpty(key);
            if (!seen.Add(key))
                continue;
            var batchKey = new BatchKey(key, _keys.Entry(key), _metrics.For(key));
            if (LocalHit(batchKey.EntryKey, batchKey.Counters) is { } local)
            {
                batch.Results[key] = local.Stored.Result(CacheOutcome.Hit) with { FromLocal = true };
            }
            else if (_pending.Covers(batchKey.EntryKey, batch.Options.Tags))
            {
                batchKey.Counters.AddBypass();
                batch.Uncached.Add(batchKey);
            }
            else
            {
                toRead.Add(batchKey with { Stamp = _local?.Stamp(batchKey.EntryKey, batch.Options.Tags) ?? 0 });
            }
        }

        await ReadManyAsync(batch, toRead).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        if (batch.ToLoad.Count + batch.Uncached.Count > 0)
            await LoadManyAsync(batch, cancellationToken).ConfigureAwait(false);

        // Another caller holds these leases: each waits for that load as a single read would.
        var waited = await Task.WhenAll(batch.WaitFor.Select(k =>
            GetOrCreateJsonAsync(k.Key, ct => LoadOneAsync(factory, k.Key, ct), batch.Options, cancellationToken).AsTask())).ConfigureAwait(false);
        for (var i = 0; i < batch.WaitFor.Count; i++)
            batch.Results[batch.WaitFor[i].Key] = waited[i];
        return batch.Results;
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyDictionary<string, CacheResult<T?>>> GetOrCreateManyAsync<T>(
        IEnumerable<string> keys, Func<IReadOnlyList<string>, CancellationToken, ValueTask<IReadOnlyDictionary<string, T>>> factory,
        CacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        var serializer = JsonSerializerOf<T>();
        var read = await GetOrCreateManyJsonAsync(keys, factory, options, cancellationToken).ConfigureAwait(false);
        return read.ToDictionary(
            static pair => pair.Key,
            pair => new CacheResult<T?>(pair.Value.Outcome, pair.Value.IsNull ? default : serializer.Deserialize(new ReadOnlySequence<byte>(pair.Value.Json))),
            StringComparer.Ordinal);
    }

    /// <summary>
    /// The MGET, then the leases of its misses, each key sorted into the results (hit, stale), the keys to load (lease
    /// taken), the keys to wait for (another caller's lease) or the keys to load uncached (Redis failed).
    /// </summary>
    private async Task ReadManyAsync<T>(Batch<T> batch, List<BatchKey> toRead)
    {
        if (toRead.Count == 0)
            return;
        StoredEntry?[] stored;
        try
        {
            stored = await _store.GetManyAsync(toRead.ConvertAll(k => k.EntryKey)).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisGuard.IsFailure(ex))
        {
            OnRedisFailure(toRead[0].Counters, ex, Log.ReadFailed);
            foreach (var key in toRead)
                key.Counters.AddBypass();
            batch.Uncached.AddRange(toRead);
            return;
        }

        var now = NowMs;
        var missed = new List<BatchKey>();
        for (var i = 0; i < toRead.Count; i++)
        {
            var key = toRead[i];
            switch (stored[i]?.At(now))
            {
                case Freshness.Fresh:
                    key.Counters.AddHit();
                    _local?.Set(key.EntryKey, stored[i]!.Value, batch.Options, key.Stamp);
                    batch.Results[key.Key] = stored[i]!.Value.Result(CacheOutcome.Hit);
                    break;
                case Freshness.Throttled:
                    key.Counters.AddStale();
                    batch.Results[key.Key] = stored[i]!.Value.Result(CacheOutcome.Stale);
                    break;
                case Freshness.Stale:
                    key.Counters.AddStale();
                    StartRefresh(OneKeyRequest(batch, key), stored[i]!.Value);
                    batch.Results[key.Key] = stored[i]!.Value.Result(CacheOutcome.Stale);
                    break;
                default:
                    key.Counters.AddMiss();
                    missed.Add(key with { Token = Random.Shared.NextInt64(1, long.MaxValue) });
                    break;
            }
        }

        var leases = await Task.WhenAll(missed.Select(TryAcquireAsync)).ConfigureAwait(false);
        for (var i = 0; i < missed.Count; i++)
        {
            var key = missed[i];
            switch (leases[i])
            {
                case null:
                    // Redis failed this lease call: the key is loaded without caching.
                    batch.Uncached.Add(key);
                    break;
                case (var taken, { } current) when current.At(NowMs) == Freshness.Fresh:
                    // Written since the MGET: that value is as new as any load would be.
                    if (taken)
                        await TryReleaseAsync(key.EntryKey, key.Counters, key.Token).ConfigureAwait(false);
                    batch.Results[key.Key] = current.Result(CacheOutcome.Miss);
                    break;
                case (true, _):
                    batch.ToLoad.Add(key);
                    break;
                default:
                    batch.WaitFor.Add(key);
                    break;
            }
        }
    }

    /// <summary>One factory call for every key this batch loads; the lease-checked write-backs sent together.</summary>
    private async Task LoadManyAsync<T>(Batch<T> batch, CancellationToken cancellationToken)
    {
        IReadOnlyDictionary<string, T> values;
        var started = _time.GetTimestamp();
        var loading = batch.ToLoad.Concat(batch.Uncached).ToList();
        try
        {
            values = await batch.Factory(loading.ConvertAll(k => k.Key), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            foreach (var key in loading)
            {
                _metrics.RecordLoad(key.Counters, key.Key, _time.GetElapsedTime(started));
                key.Counters.AddLoadFailure();
            }

            await Task.WhenAll(batch.ToLoad.Select(k => TryReleaseAsync(k.EntryKey, k.Counters, k.Token))).ConfigureAwait(false);
            throw;
        }

        var elapsed = _time.GetElapsedTime(started);
        var loadMilliseconds = (int)Math.Min(int.MaxValue, elapsed.TotalMilliseconds);
        var writes = new List<Task>(batch.ToLoad.Count);
        foreach (var key in loading)
        {
            _metrics.RecordLoad(key.Counters, key.Key, elapsed);
            var loaded = values.TryGetValue(key.Key, out var value) && value is not null ? new Loaded(Encode(value, batch.Serializer), LoadedKind.Value) : Loaded.Null;
            var cached = batch.ToLoad.Contains(key);
            batch.Results[key.Key] = loaded.Result(cached ? CacheOutcome.Miss : CacheOutcome.Bypass);
            if (cached)
                writes.Add(WriteBackAsync(key, loaded, batch.Options, loadMilliseconds));
        }

        await Task.WhenAll(writes).ConfigureAwait(false);
    }

    private async Task WriteBackAsync(BatchKey key, Loaded loaded, CacheEntryOptions options, int loadMilliseconds)
    {
        if (loaded.Kind == LoadedKind.Null && NullDuration(options) <= TimeSpan.Zero)
            await TryReleaseAsync(key.EntryKey, key.Counters, key.Token).ConfigureAwait(false);
        else if (await WriteAsync(key.Key, key.Counters, loaded, options, loadMilliseconds, key.Token).ConfigureAwait(false) == false)
            key.Counters.AddLeaseLost();
    }

    /// <summary>The lease call of one key: taken or not and the entry as it is, or null if Redis failed.</summary>
    private async Task<(bool Taken, StoredEntry? Current)?> TryAcquireAsync(BatchKey key)
    {
        try
        {
            return await _store.AcquireAsync(key.EntryKey, key.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisGuard.IsFailure(ex))
        {
            OnRedisFailure(key.Counters, ex, Log.ReadFailed);
            return null;
        }
    }

    /// <summary>A single read's request for one key of a batch, its factory the batch's called for that key (a refresh).</summary>
    private LoadRequest<(Batch<T> Batch, string Key)> OneKeyRequest<T>(Batch<T> batch, BatchKey key) =>
        new(key.Key, key.EntryKey, (batch, key.Key), static async (s, ct) =>
        {
            var values = await s.Batch.Factory([s.Key], ct).ConfigureAwait(false);
            return values.TryGetValue(s.Key, out var value) && value is not null ? new Loaded(Encode(value, s.Batch.Serializer), LoadedKind.Value) : Loaded.Null;
        }, batch.Options, key.Counters, Inline: false);

    private static async ValueTask<T?> LoadOneAsync<T>(Func<IReadOnlyList<string>, CancellationToken, ValueTask<IReadOnlyDictionary<string, T>>> factory, string key, CancellationToken cancellationToken) =>
        (await factory([key], cancellationToken).ConfigureAwait(false)).TryGetValue(key, out var value) ? value : default;

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
    }

    /// <summary>One key of a batch: its entry key, counters, the L1 stamp taken before the read, and its lease token.</summary>
    private readonly record struct BatchKey(string Key, string EntryKey, FamilyCounters Counters)
    {
        public long Stamp { get; init; }

        public long Token { get; init; }
    }
}
