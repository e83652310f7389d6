using System.Buffers;
using System.Diagnostics.Metrics;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CacheFlow;

/// <summary>The Redis-backed <see cref="ICacheFlow"/>. Thread-safe; register one per application.</summary>
public sealed partial class CacheFlowCache : ICacheFlow, IDisposable
{
    private static readonly ReadOnlyMemory<byte> NullJson = "null"u8.ToArray();

    private readonly IConnectionMultiplexer _redis;
    private readonly CacheFlowOptions _options;
    private readonly CacheKeys _keys;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CacheFlowMetrics _metrics;

    /// <summary>Creates the cache over a connected (or connecting) multiplexer.</summary>
    /// <param name="redis">The Redis connection; created with <c>AbortOnConnectFail = false</c> so it reconnects by itself.</param>
    /// <param name="options">The cache options.</param>
    /// <param name="time">The clock that expiries are computed with.</param>
    /// <param name="logger">Where cache errors are logged, as warnings.</param>
    /// <param name="meterFactory">Creates the <c>CacheFlow</c> meter; <see langword="null"/> for a standalone meter.</param>
    public CacheFlowCache(IConnectionMultiplexer redis, IOptions<CacheFlowOptions> options, TimeProvider time, ILogger<CacheFlowCache> logger, IMeterFactory? meterFactory = null)
    {
        _redis = redis;
        _options = options.Value;
        _keys = new CacheKeys(_options.KeyPrefix);
        _time = time;
        _logger = logger;
        _metrics = new CacheFlowMetrics(meterFactory);
    }

    private IDatabase Database => _redis.GetDatabase();

    /// <inheritdoc />
    public ValueTask<CacheResult> GetOrCreateJsonAsync<T>(string key, Func<CancellationToken, ValueTask<T>> factory, CacheEntryOptions? options = null, CancellationToken cancellationToken = default) =>
        GetOrCreateCoreAsync(key, (Cache: this, Factory: factory), static async (state, ct) =>
        {
            var value = await state.Factory(ct).ConfigureAwait(false);
            return value is null ? Loaded.Null : new Loaded(state.Cache.Encode(value), IsNull: false);
        }, options, cancellationToken);

    /// <inheritdoc />
    public ValueTask<CacheResult> GetOrCreateRawAsync(string key, Func<CancellationToken, ValueTask<ReadOnlyMemory<byte>?>> factory, CacheEntryOptions? options = null, CancellationToken cancellationToken = default) =>
        GetOrCreateCoreAsync(key, factory, static async (factory, ct) =>
        {
            var json = await factory(ct).ConfigureAwait(false);
            return json is null ? Loaded.Null : new Loaded(WithHeaderRoom(json.Value), IsNull: false);
        }, options, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<CacheResult<T?>> GetOrCreateAsync<T>(string key, Func<CancellationToken, ValueTask<T>> factory, CacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        var result = await GetOrCreateJsonAsync(key, factory, options, cancellationToken).ConfigureAwait(false);
        return new(result.Outcome, result.IsNull ? default : JsonSerializer.Deserialize(result.Json.Span, TypeInfo<T>()));
    }

    /// <inheritdoc />
    public async ValueTask<bool> SetAsync<T>(string key, T value, CacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var loaded = value is null ? new Loaded(WithHeaderRoom(NullJson), IsNull: true) : new Loaded(Encode(value), IsNull: false);
        return await WriteAsync(key, _metrics.For(key), loaded, loadMilliseconds: 0, options).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public CacheStatistics GetStatistics() => _metrics.Snapshot();

    /// <inheritdoc />
    public void Dispose() => _metrics.Dispose();

    private async ValueTask<CacheResult> GetOrCreateCoreAsync<TState>(
        string key, TState state, Func<TState, CancellationToken, ValueTask<Loaded>> load, CacheEntryOptions? options, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var counters = _metrics.For(key);
        var reachable = true;
        try
        {
            var stored = await Database.StringGetAsync(_keys.Entry(key)).ConfigureAwait(false);
            if (!stored.IsNull
                && CacheEntry.TryRead((ReadOnlyMemory<byte>)stored, out var entry, out var json)
                && entry.HardExpiresAt > _time.GetUtcNow().ToUnixTimeMilliseconds())
            {
                counters.AddHit();
                return new CacheResult(CacheOutcome.Hit, json, entry.Flags.HasFlag(CacheEntryFlags.Null));
            }
        }
        catch (RedisException ex)
        {
            reachable = false;
            counters.AddError();
            Log.ReadFailed(_logger, ex, KeyFamily.Of(key).ToString());
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (reachable)
            counters.AddMiss();
        else
            counters.AddBypass();

        var started = _time.GetTimestamp();
        Loaded loaded;
        try
        {
            loaded = await load(state, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            counters.AddLoadFailure();
            throw;
        }

        var elapsed = _time.GetElapsedTime(started);
        _metrics.RecordLoad(counters, key, elapsed);

        if (reachable && !loaded.IsNull)
            await WriteAsync(key, counters, loaded, (int)Math.Min(int.MaxValue, elapsed.TotalMilliseconds), options).ConfigureAwait(false);

        return new CacheResult(reachable ? CacheOutcome.Miss : CacheOutcome.Bypass, loaded.Json, loaded.IsNull);
    }

    private async ValueTask<bool> WriteAsync(string key, FamilyCounters counters, Loaded loaded, int loadMilliseconds, CacheEntryOptions? options)
    {
        var duration = options?.Duration ?? _options.DefaultDuration;
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var expiresAt = now + (long)duration.TotalMilliseconds;
        var flags = loaded.IsNull ? CacheEntryFlags.Null : CacheEntryFlags.None;
        // The version is the write time; a later write of the same key carries a larger one.
        new CacheEntry(flags, expiresAt, expiresAt, loadMilliseconds, Version: now).WriteHeader(loaded.Entry.Span);

        var redisKey = _keys.Entry(key);
        var db = Database;
        var tags = options?.Tags ?? [];
        try
        {
            if (tags.Count == 0)
            {
                await db.StringSetAsync(redisKey, loaded.Entry, duration).ConfigureAwait(false);
                return true;
            }

            // Tags are indexed before the entry is written, so an entry is never in Redis without its index.
            var writes = new Task[tags.Count + 1];
            for (var i = 0; i < tags.Count; i++)
                writes[i] = db.ScriptEvaluateAsync(TagScripts.Add, [_keys.Tag(tags[i])], [redisKey, (long)duration.TotalMilliseconds]);
            writes[^1] = db.StringSetAsync(redisKey, loaded.Entry, duration);
            await Task.WhenAll(writes).ConfigureAwait(false);
            return true;
        }
        catch (RedisException ex)
        {
            counters.AddError();
            Log.WriteFailed(_logger, ex, KeyFamily.Of(key).ToString());
            return false;
        }
    }

    /// <summary>Serializes <paramref name="value"/> after room for the entry header.</summary>
    private Memory<byte> Encode<T>(T value)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        buffer.GetSpan(CacheEntry.HeaderSize);
        buffer.Advance(CacheEntry.HeaderSize);
        using (var writer = new Utf8JsonWriter(buffer))
            JsonSerializer.Serialize(writer, value, TypeInfo<T>());
        return MemoryMarshal.AsMemory(buffer.WrittenMemory);
    }

    private static Memory<byte> WithHeaderRoom(ReadOnlyMemory<byte> json)
    {
        var entry = new byte[CacheEntry.HeaderSize + json.Length];
        json.CopyTo(entry.AsMemory(CacheEntry.HeaderSize));
        return entry;
    }

    private JsonTypeInfo<T> TypeInfo<T>() => (JsonTypeInfo<T>)_options.SerializerOptions.GetTypeInfo(typeof(T));

    /// <summary>What a factory produced: an entry (header room, then JSON), or null (nothing to cache).</summary>
    private readonly record struct Loaded(Memory<byte> Entry, bool IsNull)
    {
        public static Loaded Null => new(Memory<byte>.Empty, IsNull: true);

        public ReadOnlyMemory<byte> Json => Entry.IsEmpty ? NullJson : Entry[CacheEntry.HeaderSize..];
    }
}
