using System.Buffers;
using System.Collections.Concurrent;
using CacheFlow.Local;
using CacheFlow.Redis;
using CacheFlow.Serialization;
using Microsoft.Extensions.Caching.Hybrid;

namespace CacheFlow;

/// <summary>
/// Typed reads and writes: values go through a serializer (JSON by default, strings and byte arrays as they are, any
/// <see cref="IHybridCacheSerializer{T}"/> for the HybridCache API), and the L1 keeps the deserialized value beside the bytes. An immutable value
/// (<see cref="ImmutableType{T}"/>) is deserialized once and shared by every later L1 hit; any other is deserialized
/// afresh for each caller, so no caller can change what the next one gets.
/// </summary>
public sealed partial class CacheFlowCache
{
    private const int MaxKeptBuffer = 64 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? _encodeBuffer;

    private readonly ConcurrentDictionary<Type, object> _jsonSerializers = new();

    /// <inheritdoc />
    public ValueTask<CacheResult<T?>> GetOrCreateAsync<T>(string key, Func<CancellationToken, ValueTask<T>> factory, CacheEntryOptions? options = null, CancellationToken cancellationToken = default) =>
        GetOrCreateValueAsync(key, factory, static (factory, ct) => factory(ct), JsonSerializerOf<T>(), options, EntryPaths.All, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> SetAsync<T>(string key, T value, CacheEntryOptions? options = null, CancellationToken cancellationToken = default) =>
        SetValueAsync(key, value, JsonSerializerOf<T>(), options, EntryPaths.All, cancellationToken);

    /// <summary>A fresh L1 hit, counted, as the value a typed read returns: the kept instance of an immutable type, else a fresh copy.</summary>
    internal bool TryGetLocal<T>(string key, IHybridCacheSerializer<T> serializer, out T? value)
    {
        if (_local is null || LocalHit(key) is not { } copy)
        {
            value = default;
            return false;
        }

        value = ValueOf(copy, serializer);
        return true;
    }

    /// <summary>
    /// The typed read behind both APIs: an L1 hit returns the kept value (immutable types) without a copy. A value
    /// whose serialized form is longer than <paramref name="maxPayloadBytes"/> is returned but not cached.
    /// </summary>
    internal async ValueTask<CacheResult<T?>> GetOrCreateValueAsync<TState, T>(
        string key, TState state, Func<TState, CancellationToken, ValueTask<T>> factory, IHybridCacheSerializer<T> serializer,
        CacheEntryOptions? options, EntryPaths paths, CancellationToken cancellationToken, int maxPayloadBytes = int.MaxValue)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (paths.HasFlag(EntryPaths.LocalRead) && TryGetLocal(key, serializer, out var local))
            return new(CacheOutcome.Hit, local);

        var result = await GetOrCreateCoreAsync(key, (State: state, Factory: factory, Serializer: serializer, Max: maxPayloadBytes), static async (s, ct) =>
        {
            var value = await s.Factory(s.State, ct).ConfigureAwait(false);
            if (value is null)
                return Loaded.Null;
            var entry = Encode(value, s.Serializer);
            // An immutable value reaches its callers as the factory made it (HybridCache's rule): no copy is deserialized.
            return new Loaded(entry, entry.Length - CacheEntry.HeaderSize > s.Max ? LoadedKind.TooLarge : LoadedKind.Value) { Value = ImmutableType<T>.IsShared ? value : null };
        }, options, inline: false, cancellationToken, paths & ~EntryPaths.LocalRead).ConfigureAwait(false);
        if (result.IsNull)
            return new(result.Outcome, default);
        var read = result.Value is T made ? made : serializer.Deserialize(new ReadOnlySequence<byte>(result.Json));
        // The L1 may now hold these very bytes (stored by this read or its load): it keeps the value for the next hits.
        if (ImmutableType<T>.IsShared && read is not null && _local?.Get(key) is { } stored && stored.Stored.Json.Equals(result.Json))
            stored.Keep(read);
        return new(result.Outcome, read);
    }

    /// <summary>The typed write-through behind both APIs, to the levels <paramref name="paths"/> allow.</summary>
    /// A value too long to cache (<paramref name="maxPayloadBytes"/>) removes the key instead: no older value stays. An
    /// <paramref name="overwrite"/> is written even right after an invalidation (see <c>WriteEntryAsync</c>).
    internal async ValueTask<bool> SetValueAsync<T>(
        string key, T value, IHybridCacheSerializer<T> serializer, CacheEntryOptions? options, EntryPaths paths, CancellationToken cancellationToken,
        int maxPayloadBytes = int.MaxValue, bool overwrite = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        cancellationToken.ThrowIfCancellationRequested();
        options ??= DefaultEntryOptions;
        var loaded = value is null ? Loaded.Null : new Loaded(Encode(value, serializer), LoadedKind.Value);
        if ((value is null && NullDuration(options) <= TimeSpan.Zero) || loaded.Entry.Length - CacheEntry.HeaderSize > maxPayloadBytes)
            return await RemoveAsync(key, cancellationToken).ConfigureAwait(false);
        if (paths.HasFlag(EntryPaths.RemoteWrite))
        {
            var written = await WriteAsync(key, _metrics.For(key), loaded, options, loadMilliseconds: 0, lease: null, paths, overwrite).ConfigureAwait(false) == Verdict.Done;
            // An immutable value set here is the instance later L1 hits return.
            if (ImmutableType<T>.IsShared && value is not null && _local?.Get(key) is { } copy)
                copy.Keep(value);
            return written;
        }
        if (_local is null || !paths.HasFlag(EntryPaths.LocalWrite))
            return true;
        // The L1 alone: this instance's copy is replaced; the others, and Redis, are left as they are.
        _local.Drop(key);
        var header = NewHeader(loaded, options, loadMilliseconds: 0, lease: null, out _);
        if (_local.Set(key, new StoredEntry(header, loaded.Entry), options, _local.Stamp(key, options.Tags)) is { } kept && ImmutableType<T>.IsShared && value is not null)
            kept.Keep(value);
        return true;
    }

    /// <summary>
    /// The serializer of <typeparamref name="T"/> for the typed API, and for HybridCache when none is registered: a string
    /// as its UTF-8 bytes and a byte array as it is (HybridCache's built-in serializers: no JSON, so no JSON metadata is
    /// needed for them in a trimmed or native AOT application), any other type as JSON (<see cref="JsonOf{T}"/>).
    /// </summary>
    internal IHybridCacheSerializer<T> JsonSerializerOf<T>() => BuiltInSerializer<T>.Instance ?? JsonOf<T>();

    /// <summary>The JSON serializer of <typeparamref name="T"/> with the cache's serializer options: the JSON API's, strings included.</summary>
    internal IHybridCacheSerializer<T> JsonOf<T>() =>
        (IHybridCacheSerializer<T>)_jsonSerializers.GetOrAdd(typeof(T), static (_, options) => new JsonValueSerializer<T>(options), _options.SerializerOptions);

    /// <summary>The value of an L1 copy: the kept instance of an immutable type, else a fresh deserialization.</summary>
    private static T? ValueOf<T>(LocalCopy copy, IHybridCacheSerializer<T> serializer)
    {
        if (copy.Stored.IsNull)
            return default;
        if (ImmutableType<T>.IsShared && copy.Value is T kept)
            return kept;
        var value = serializer.Deserialize(new ReadOnlySequence<byte>(copy.Stored.Json));
        if (ImmutableType<T>.IsShared && value is not null)
            copy.Keep(value);
        return value;
    }

    /// <summary>Serializes <paramref name="value"/> after room for the entry header.</summary>
    private static Memory<byte> Encode<T>(T value, IHybridCacheSerializer<T> serializer)
    {
        // Serialized into this thread's buffer, then copied once into an entry of its exact length (kept by the L1 and
        // sent to Redis as it is). Taken while in use: a serializer that went through the cache gets a buffer of its own.
        var buffer = _encodeBuffer ?? new ArrayBufferWriter<byte>(1024);
        _encodeBuffer = null;
        buffer.ResetWrittenCount();
        buffer.GetSpan(CacheEntry.HeaderSize);
        buffer.Advance(CacheEntry.HeaderSize);
        serializer.Serialize(value, buffer);
        var entry = buffer.WrittenSpan.ToArray();
        // One large value does not keep its buffer for good.
        if (buffer.Capacity <= MaxKeptBuffer)
            _encodeBuffer = buffer;
        return entry;
    }
}
