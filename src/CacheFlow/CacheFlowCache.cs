using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using CacheFlow.Invalidation;
using CacheFlow.Local;
using CacheFlow.Metrics;
using CacheFlow.Redis;
using CacheFlow.Serialization;
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
}
