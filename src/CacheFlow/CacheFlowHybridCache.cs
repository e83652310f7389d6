using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CacheFlow;

/// <summary>
/// CacheFlow behind Microsoft's <see cref="HybridCache"/> API: code written for HybridCache gets CacheFlow's
/// guarantees (no stale value set after an invalidation, one load per key across processes, an L1 kept coherent
/// across instances, fail-safe) by changing its registration (<c>AddCacheFlow(...).AsHybridCache()</c>).
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><see cref="HybridCacheEntryOptions.Expiration"/> is the entry's time in Redis; <see cref="HybridCacheEntryOptions.LocalCacheExpiration"/>
/// its time in the L1, never past the entry's own expiry nor <see cref="CacheFlowOptions.LocalMaxAge"/> (the bound on
/// how stale an instance can be if an invalidation message is lost). Null values are cached like any other.</item>
/// <item>The flags choose the levels a call may use. A call that may not both read and write Redis loads without a lease,
/// shared only within this process. <see cref="HybridCacheEntryFlags.DisableCompression"/> changes nothing: values are never compressed.</item>
/// <item>Values are serialized by the <see cref="IHybridCacheSerializer{T}"/> registered for their type, else by the first
/// <see cref="IHybridCacheSerializerFactory"/> (last registered first) that makes one, else as JSON with
/// <see cref="CacheFlowOptions.SerializerOptions"/> (a source-generated context there gives each type's <c>JsonTypeInfo</c>).</item>
/// <item>Instances of strings, of value types holding no references and of sealed types marked <c>[ImmutableObject(true)]</c>
/// are shared from the L1; any other type is deserialized afresh for each caller.</item>
/// <item>Each caller may cancel its own wait; a load is cancelled only when every caller waiting for it has.</item>
/// <item><c>RemoveByTagAsync("*")</c> removes every entry under the cache's key prefix, whichever API wrote it.</item>
/// </list>
/// </remarks>
public sealed class CacheFlowHybridCache : HybridCache
{
    private const string EverythingTag = "*";

    private readonly CacheFlowCache _cache;
    private readonly CacheFlowHybridCacheOptions _options;
    private readonly TimeSpan _defaultDuration;
    private readonly IServiceProvider _services;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<Type, object> _serializers = new();
    private readonly CacheEntryOptions _defaultEntryOptions;

    /// <summary>Creates the HybridCache over CacheFlow's cache.</summary>
    /// <param name="cache">The cache; it must be CacheFlow's own <see cref="CacheFlowCache"/>.</param>
    /// <param name="options">The HybridCache options.</param>
    /// <param name="cacheOptions">The cache's own options, for its defaults.</param>
    /// <param name="services">Where serializers and serializer factories are looked up.</param>
    /// <param name="logger">Where calls that cannot be cached (key or value too long) are logged.</param>
    public CacheFlowHybridCache(ICacheFlow cache, IOptions<CacheFlowHybridCacheOptions> options, IOptions<CacheFlowOptions> cacheOptions, IServiceProvider services, ILogger<CacheFlowHybridCache> logger)
    {
        _cache = cache as CacheFlowCache ?? throw new ArgumentException($"The HybridCache API runs on {nameof(CacheFlowCache)}, not on another {nameof(ICacheFlow)}.", nameof(cache));
        _options = options.Value;
        _defaultDuration = cacheOptions.Value.DefaultDuration;
        _services = services;
        _logger = logger;
        _defaultEntryOptions = NewEntryOptions(null, null);
    }

    /// <inheritdoc />
    public override ValueTask<T> GetOrCreateAsync<TState, T>(
        string key, TState state, Func<TState, CancellationToken, ValueTask<T>> factory, HybridCacheEntryOptions? options = null, IEnumerable<string>? tags = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(factory);
        if (key.Length == 0 || key.Length > _options.MaximumKeyLength)
        {
            Log.HybridKeyRefused(_logger, key.Length);
            return factory(state, cancellationToken);
        }

        var serializer = SerializerOf<T>();
        var paths = PathsOf(options);
        // The L1 first: a hit needs neither the entry options nor a state machine.
        if (paths.HasFlag(EntryPaths.LocalRead) && _cache.TryGetLocal(key, serializer, out var local))
            return new ValueTask<T>(local!);
        var read = _cache.GetOrCreateValueAsync(key, state, factory, serializer, EntryOptions(options, tags), paths & ~EntryPaths.LocalRead, cancellationToken, _options.MaximumPayloadBytes);
        return read.IsCompletedSuccessfully ? new ValueTask<T>(read.Result.Value!) : ValueOf(read);

        static async ValueTask<T> ValueOf(ValueTask<CacheResult<T?>> read) => (await read.ConfigureAwait(false)).Value!;
    }

    /// <inheritdoc />
    public override async ValueTask SetAsync<T>(string key, T value, HybridCacheEntryOptions? options = null, IEnumerable<string>? tags = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0 || key.Length > _options.MaximumKeyLength)
        {
            Log.HybridKeyRefused(_logger, key.Length);
            return;
        }

        // HybridCache's SetAsync is an overwrite: the value set is the value cached, even right after a removal.
        await _cache.SetValueAsync(key, value, SerializerOf<T>(), EntryOptions(options, tags), PathsOf(options), cancellationToken, _options.MaximumPayloadBytes, overwrite: true).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async ValueTask RemoveAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length > 0)
            await _cache.RemoveAsync(key, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async ValueTask RemoveByTagAsync(string tag, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tag);
        if (tag == EverythingTag)
            await _cache.RemoveAllAsync(cancellationToken).ConfigureAwait(false);
        else if (tag.Length > 0)
            await _cache.RemoveByTagAsync(tag, cancellationToken).ConfigureAwait(false);
    }

    private static EntryPaths PathsOf(HybridCacheEntryOptions? options)
    {
        var flags = options?.Flags ?? HybridCacheEntryFlags.None;
        if (flags == HybridCacheEntryFlags.None)
            return EntryPaths.All;
        var paths = EntryPaths.All;
        if (flags.HasFlag(HybridCacheEntryFlags.DisableLocalCacheRead))
            paths &= ~EntryPaths.LocalRead;
        if (flags.HasFlag(HybridCacheEntryFlags.DisableLocalCacheWrite))
            paths &= ~EntryPaths.LocalWrite;
        if (flags.HasFlag(HybridCacheEntryFlags.DisableDistributedCacheRead))
            paths &= ~EntryPaths.RemoteRead;
        if (flags.HasFlag(HybridCacheEntryFlags.DisableDistributedCacheWrite))
            paths &= ~EntryPaths.RemoteWrite;
        if (flags.HasFlag(HybridCacheEntryFlags.DisableUnderlyingData))
            paths &= ~EntryPaths.Factory;
        return paths;
    }

    /// <summary>CacheFlow's options for a call; a call with neither options nor tags shares one instance.</summary>
    private CacheEntryOptions EntryOptions(HybridCacheEntryOptions? options, IEnumerable<string>? tags) =>
        options is null && tags is null ? _defaultEntryOptions : NewEntryOptions(options, tags);

    private CacheEntryOptions NewEntryOptions(HybridCacheEntryOptions? options, IEnumerable<string>? tags)
    {
        var duration = options?.Expiration ?? _options.DefaultEntryOptions?.Expiration ?? _defaultDuration;
        return new CacheEntryOptions
        {
            Duration = duration,
            // HybridCache caches what the factory returns, null included.
            NullDuration = duration,
            LocalDuration = options?.LocalCacheExpiration ?? _options.DefaultEntryOptions?.LocalCacheExpiration,
            Tags = tags switch
            {
                null => [],
                IReadOnlyList<string> list => list,
                _ => [.. tags],
            },
        };
    }

    private IHybridCacheSerializer<T> SerializerOf<T>() =>
        (IHybridCacheSerializer<T>)_serializers.GetOrAdd(typeof(T), static (_, self) => self.ResolveSerializer<T>(), this);

    private IHybridCacheSerializer<T> ResolveSerializer<T>()
    {
        if (_services.GetService<IHybridCacheSerializer<T>>() is { } registered)
            return registered;
        foreach (var factory in _services.GetServices<IHybridCacheSerializerFactory>().Reverse())
        {
            if (factory.TryCreateSerializer<T>(out var made))
                return made;
        }

        return _cache.JsonSerializerOf<T>();
    }
}
