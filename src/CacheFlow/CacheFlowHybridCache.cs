using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using System.Text.Json;
using CacheFlow.Local;
using CacheFlow.Logging;
using CacheFlow.Serialization;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CacheFlow;

/// <summary>
/// CacheFlow behind Microsoft's <see cref="HybridCache"/> API: code written for HybridCache gets CacheFlow's
/// guarantees (no stale value set after an invalidation, one load per key across processes, an L1 kept coherent
/// across instances, fail-safe) by changing its registration (<c>AddCacheFlow(...).AsHybridCache()</c>). It behaves as
/// Microsoft's <c>DefaultHybridCache</c> does wherever that does not weaken one of those guarantees, and takes the
/// same <see cref="HybridCacheOptions"/>, however the application configured them.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>A call's options are merged with <see cref="HybridCacheOptions.DefaultEntryOptions"/> as Microsoft's are: a
/// call's flags, when it gives any, replace the default flags; a call's <see cref="HybridCacheEntryOptions.Expiration"/>
/// is also its L1 time unless it gives <see cref="HybridCacheEntryOptions.LocalCacheExpiration"/> too (never longer than
/// the expiration). With no expiration anywhere, <see cref="CacheFlowOptions.DefaultDuration"/> applies; the L1 time is
/// capped by the entry's life and by <see cref="CacheFlowOptions.LocalMaxAge"/> (the bound on how stale an instance can
/// be if an invalidation message is lost). Null values are cached like any other.</item>
/// <item>A null, empty or whitespace key, a key with a control character, or one longer than
/// <see cref="HybridCacheOptions.MaximumKeyLength"/> is never cached and never throws: the factory runs (unless the
/// flags forbid it) and the event is logged. A value whose serialized form is longer than
/// <see cref="HybridCacheOptions.MaximumPayloadBytes"/> is returned and not cached.</item>
/// <item>The flags choose the levels a call may use. A call that may not both read and write Redis loads without a lease,
/// shared only within this process. <see cref="HybridCacheEntryFlags.DisableCompression"/> changes nothing: values are never compressed.</item>
/// <item>Values are serialized by the <see cref="IHybridCacheSerializer{T}"/> registered for their type, else by the first
/// <see cref="IHybridCacheSerializerFactory"/> (last registered first) that makes one, else as JSON: with the
/// <see cref="JsonSerializerOptions"/> registered keyed by <c>typeof(IHybridCacheSerializer&lt;T&gt;)</c> or
/// <c>typeof(IHybridCacheSerializer&lt;&gt;)</c>, as for Microsoft's, else with <see cref="CacheFlowOptions.SerializerOptions"/>
/// (a source-generated context there gives each type's <c>JsonTypeInfo</c>), fields included for a type whose data is in
/// fields only (a value tuple). A serializer's exception reaches the caller.</item>
/// <item>Strings, value types holding no references and sealed types marked <c>[ImmutableObject(true)]</c> are
/// immutable: the caller that loaded or set a value gets the instance it made, and so does every later L1 hit. Any other
/// type is deserialized afresh for each caller. Unlike Microsoft's, callers that cannot be cancelled do not share one
/// task for a load: a caller that starts after a removal would be handed a value read before it; each caller waits
/// for the key's load under the rule every caller has (docs/correctness.md, "Joiners need the same care").</item>
/// <item>Each caller may cancel its own wait; a load is cancelled only when every caller waiting for it has.</item>
/// <item><c>RemoveByTagAsync("*")</c> removes every entry under the cache's key prefix, whichever API wrote it. With
/// <see cref="HybridCacheOptions.ReportTagMetrics"/>, removals by tag are counted per tag (<c>cacheflow.hybrid.tag_removals</c>).</item>
/// </list>
/// </remarks>
public sealed class CacheFlowHybridCache : HybridCache
{
    private const string EverythingTag = "*";

    private readonly CacheFlowCache _cache;
    private readonly HybridCacheOptions _options;
    private readonly int _maximumPayloadBytes;
    private readonly HybridCacheEntryFlags _defaultFlags;
    private readonly TimeSpan _defaultExpiration;
    private readonly TimeSpan? _defaultLocalExpiration;
    private readonly IServiceProvider _services;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<Type, object> _serializers = new();
    private readonly object _identity = new();
    private readonly CacheEntryOptions _defaultEntryOptions;
    private readonly Counter<long>? _tagRemovals;
    private readonly Lazy<JsonSerializerOptions> _fieldOptions;

    /// <summary>Creates the HybridCache over CacheFlow's cache.</summary>
    /// <param name="cache">The cache; it must be CacheFlow's own <see cref="CacheFlowCache"/>.</param>
    /// <param name="options">HybridCache's own options, as <c>AddHybridCache(o => …)</c> or <c>AsHybridCache(o => …)</c> configured them.</param>
    /// <param name="cacheOptions">The cache's own options, for its defaults.</param>
    /// <param name="services">Where serializers and serializer factories are looked up.</param>
    /// <param name="logger">Where calls that cannot be cached (a key refused, a value too long) are logged.</param>
    /// <param name="meterFactory">Makes the <c>CacheFlow</c> meter for <see cref="HybridCacheOptions.ReportTagMetrics"/>; <see langword="null"/> for none.</param>
    public CacheFlowHybridCache(
        ICacheFlow cache, IOptions<HybridCacheOptions> options, IOptions<CacheFlowOptions> cacheOptions, IServiceProvider services, ILogger<CacheFlowHybridCache> logger,
        IMeterFactory? meterFactory = null)
    {
        _cache = cache as CacheFlowCache ?? throw new ArgumentException($"The HybridCache API runs on {nameof(CacheFlowCache)}, not on another {nameof(ICacheFlow)}.", nameof(cache));
        _options = options.Value;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.MaximumPayloadBytes, "HybridCacheOptions.MaximumPayloadBytes");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.MaximumKeyLength, "HybridCacheOptions.MaximumKeyLength");
        _maximumPayloadBytes = (int)Math.Min(_options.MaximumPayloadBytes, int.MaxValue);
        var defaults = _options.DefaultEntryOptions;
        _defaultFlags = defaults?.Flags ?? HybridCacheEntryFlags.None;
        _defaultExpiration = defaults?.Expiration ?? cacheOptions.Value.DefaultDuration;
        _defaultLocalExpiration = LocalExpirationOf(defaults);
        _services = services;
        _logger = logger;
        _defaultEntryOptions = NewEntryOptions(null, null);
        _fieldOptions = new(() => new JsonSerializerOptions(cacheOptions.Value.SerializerOptions) { IncludeFields = true });
        if (_options.ReportTagMetrics && meterFactory is not null)
        {
            _tagRemovals = meterFactory.Create(CacheFlowMeter.Name).CreateCounter<long>("cacheflow.hybrid.tag_removals", "{removal}",
                "Removals by tag through the HybridCache API, by tag (HybridCacheOptions.ReportTagMetrics).");
        }
    }

    /// <inheritdoc />
    public override ValueTask<T> GetOrCreateAsync<TState, T>(
        string key, TState state, Func<TState, CancellationToken, ValueTask<T>> factory, HybridCacheEntryOptions? options = null, IEnumerable<string>? tags = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(factory);
        if (cancellationToken.CanBeCanceled)
            cancellationToken.ThrowIfCancellationRequested();
        var flags = options?.Flags ?? _defaultFlags;
        var serializer = SerializerOf<T>();
        var paths = PathsOf(flags);
        // The L1 first: a hit needs neither the entry options nor a state machine, nor the key's check (a key that may
        // not be cached was never stored, so it is never a hit).
        if (key is not null && (paths & EntryPaths.LocalRead) != 0 && _cache.TryGetLocal(key, serializer, out var local))
            return new ValueTask<T>(local!);
        if (!Cacheable(key))
            return (flags & HybridCacheEntryFlags.DisableUnderlyingData) == 0 ? factory(state, cancellationToken) : default;
        return Read(key, state, factory, serializer, EntryOptions(options, tags), paths, cancellationToken);
    }

    /// <inheritdoc />
    public override async ValueTask SetAsync<T>(string key, T value, HybridCacheEntryOptions? options = null, IEnumerable<string>? tags = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!Cacheable(key))
            return;

        // HybridCache's SetAsync is an overwrite: the value set is the value cached, even right after a removal.
        await _cache.SetValueAsync(key, value, SerializerOf<T>(), EntryOptions(options, tags), PathsOf(options?.Flags ?? _defaultFlags), cancellationToken, _maximumPayloadBytes, overwrite: true).ConfigureAwait(false);
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
        _tagRemovals?.Add(1, new KeyValuePair<string, object?>("tag", tag));
        if (tag == EverythingTag)
            await _cache.RemoveAllAsync(cancellationToken).ConfigureAwait(false);
        else if (tag.Length > 0)
            await _cache.RemoveByTagAsync(tag, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The read behind a call, once the L1 had nothing: a value, and the caller's own cancellation.</summary>
    private ValueTask<T> Read<TState, T>(
        string key, TState state, Func<TState, CancellationToken, ValueTask<T>> factory, IHybridCacheSerializer<T> serializer, CacheEntryOptions options,
        EntryPaths paths, CancellationToken cancellationToken)
    {
        var read = _cache.GetOrCreateValueAsync(key, state, factory, serializer, options, paths & ~EntryPaths.LocalRead, cancellationToken, _maximumPayloadBytes);
        return read.IsCompletedSuccessfully ? new ValueTask<T>(read.Result.Value!) : ValueOf(read);

        static async ValueTask<T> ValueOf(ValueTask<CacheResult<T?>> read) => (await read.ConfigureAwait(false)).Value!;
    }

    /// <summary>Whether a key may be cached (Microsoft's rules); a key that may not is logged.</summary>
    private bool Cacheable([NotNullWhen(true)] string? key)
    {
        string? refused = null;
        if (string.IsNullOrWhiteSpace(key))
            refused = "empty or white space";
        else if (key.Length > _options.MaximumKeyLength)
            refused = $"{key.Length} characters, more than the {_options.MaximumKeyLength} of MaximumKeyLength";
        else if (key.AsSpan().IndexOfAnyInRange('\0', '\u001f') >= 0)
            refused = "holding a control character";
        if (refused is null)
            return true;
        Log.HybridKeyRefused(_logger, refused);
        return false;
    }

    private static EntryPaths PathsOf(HybridCacheEntryFlags flags)
    {
        if (flags == HybridCacheEntryFlags.None)
            return EntryPaths.All;
        var paths = EntryPaths.All;
        if ((flags & HybridCacheEntryFlags.DisableLocalCacheRead) != 0)
            paths &= ~EntryPaths.LocalRead;
        if ((flags & HybridCacheEntryFlags.DisableLocalCacheWrite) != 0)
            paths &= ~EntryPaths.LocalWrite;
        if ((flags & HybridCacheEntryFlags.DisableDistributedCacheRead) != 0)
            paths &= ~EntryPaths.RemoteRead;
        if ((flags & HybridCacheEntryFlags.DisableDistributedCacheWrite) != 0)
            paths &= ~EntryPaths.RemoteWrite;
        if ((flags & HybridCacheEntryFlags.DisableUnderlyingData) != 0)
            paths &= ~EntryPaths.Factory;
        return paths;
    }

    /// <summary>
    /// The L1 time of one set of options, as Microsoft merges them: its local expiration (never past its expiration),
    /// else its expiration; null if it gives neither.
    /// </summary>
    private static TimeSpan? LocalExpirationOf(HybridCacheEntryOptions? options) =>
        options?.LocalCacheExpiration is { } local
            ? options.Expiration is { } overall && overall < local ? overall : local
            : options?.Expiration;

    /// <summary>CacheFlow's options for a call; a call with neither options nor tags shares one instance.</summary>
    private CacheEntryOptions EntryOptions(HybridCacheEntryOptions? options, IEnumerable<string>? tags) =>
        options is null && tags is null ? _defaultEntryOptions : NewEntryOptions(options, tags);

    private CacheEntryOptions NewEntryOptions(HybridCacheEntryOptions? options, IEnumerable<string>? tags)
    {
        var duration = options?.Expiration ?? _defaultExpiration;
        return new CacheEntryOptions
        {
            Duration = duration,
            // HybridCache caches what the factory returns, null included.
            NullDuration = duration,
            LocalDuration = LocalExpirationOf(options) ?? _defaultLocalExpiration,
            Tags = tags switch
            {
                null => [],
                IReadOnlyList<string> list => list,
                _ => [.. tags],
            },
        };
    }

    /// <summary>
    /// The serializer of <typeparamref name="T"/>: from a slot per type (the L1 hit path looks up no dictionary), kept
    /// for the last instance that asked (known by a token, so the slot keeps no instance alive), else from this
    /// instance's table.
    /// </summary>
    private IHybridCacheSerializer<T> SerializerOf<T>()
    {
        if (SerializerSlot<T>.Last is { } slot && slot.Owner == _identity)
            return slot.Serializer;
        var serializer = (IHybridCacheSerializer<T>)_serializers.GetOrAdd(typeof(T), static (_, self) => self.ResolveSerializer<T>(), this);
        SerializerSlot<T>.Last = new SerializerSlot<T>(_identity, serializer);
        return serializer;
    }

    private sealed class SerializerSlot<T>(object owner, IHybridCacheSerializer<T> serializer)
    {
        public static SerializerSlot<T>? Last { get; set; }

        public object Owner { get; } = owner;

        public IHybridCacheSerializer<T> Serializer { get; } = serializer;
    }

    /// <summary>
    /// Microsoft's order: a serializer registered for the type, then the factories (last registered first), then the
    /// built-in ones (a string, a byte array), then JSON with the <see cref="JsonSerializerOptions"/> registered for the
    /// type or for all (keyed by
    /// <c>IHybridCacheSerializer&lt;T&gt;</c> or <c>IHybridCacheSerializer&lt;&gt;</c>), else the cache's own JSON,
    /// with fields included for a type whose data is in fields only.
    /// </summary>
    private IHybridCacheSerializer<T> ResolveSerializer<T>()
    {
        if (_services.GetService<IHybridCacheSerializer<T>>() is { } registered)
            return registered;
        foreach (var factory in _services.GetServices<IHybridCacheSerializerFactory>().Reverse())
        {
            if (factory.TryCreateSerializer<T>(out var made))
                return made;
        }

        if (BuiltInSerializer<T>.Instance is { } builtIn)
            return builtIn;
        var keyed = _services as IKeyedServiceProvider;
        if ((keyed?.GetKeyedService(typeof(JsonSerializerOptions), typeof(IHybridCacheSerializer<T>))
            ?? keyed?.GetKeyedService(typeof(JsonSerializerOptions), typeof(IHybridCacheSerializer<>))) is JsonSerializerOptions options)
            return new JsonValueSerializer<T>(options);
        return FieldOnlyTypes.Contains(typeof(T)) ? new JsonValueSerializer<T>(_fieldOptions.Value) : _cache.JsonSerializerOf<T>();
    }
}
