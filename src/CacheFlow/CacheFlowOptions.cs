using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using CacheFlow.Validation;

namespace CacheFlow;

/// <summary>Options of the CacheFlow cache.</summary>
public sealed class CacheFlowOptions
{
    /// <summary>
    /// A StackExchange.Redis configuration string (<c>host:port,password=…</c>) the cache connects with, on a connection
    /// of its own that never gives up (<c>abortConnect=false</c>) and fails fast while Redis is down (the cache then
    /// serves from the source). Unset, the cache uses the <c>IConnectionMultiplexer</c> registered in the container
    /// (for a keyed cache, one registered with the same key first).
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? Configuration { get; set; }

    /// <summary>
    /// The prefix of every Redis key the cache writes, so several applications can share one Redis.
    /// It may not contain <c>{</c> or <c>}</c>: the cache puts the key in braces to choose its cluster hash slot.
    /// </summary>
    /// <value>The default value is <c>cf:</c>.</value>
    [Required(AllowEmptyStrings = true)]
    [RegularExpression("^[^{}]*$", ErrorMessage = "The key prefix may not contain '{{' or '}}'.")]
    public string KeyPrefix { get; set; } = "cf:";

    /// <summary>
    /// The prefix of durable data kept beside the cache (write-behind queues, their statuses, counters):
    /// <see cref="KeyPrefix"/> then <c>durable:</c>. Cache entries live at <c>{KeyPrefix}{key}</c> and tag indexes at
    /// <c>{KeyPrefix}tag:…</c>, so no removal by key, tag or prefix can reach durable data.
    /// </summary>
    public string DurableKeyPrefix => KeyPrefix + "durable:";

    /// <summary>How long entries whose <see cref="CacheEntryOptions.Duration"/> is not set are fresh.</summary>
    /// <value>The default value is 5 minutes.</value>
    [TimeSpanRange("00:00:00.001", "365.00:00:00")]
    public TimeSpan DefaultDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long past freshness entries may be served stale when <see cref="CacheEntryOptions.StaleDuration"/> is not set.</summary>
    /// <value>The default value is zero: entries are not served stale.</value>
    [TimeSpanRange("00:00:00", "365.00:00:00")]
    public TimeSpan DefaultStaleDuration { get; set; }

    /// <summary>How long null results are cached when <see cref="CacheEntryOptions.NullDuration"/> is not set.</summary>
    /// <value>The default value is zero: nulls are not cached.</value>
    [TimeSpanRange("00:00:00", "1.00:00:00")]
    public TimeSpan DefaultNullDuration { get; set; }

    /// <summary>
    /// Spreads expiries: each entry's freshness is its duration times a random factor in 1 ± this percentage, so
    /// entries written together do not all expire together.
    /// </summary>
    /// <value>The default value is 0.</value>
    [Range(0, 50)]
    public double JitterPercent { get; set; }

    /// <summary>
    /// β of probabilistic early refresh (XFetch): a hit refreshes the entry in the background when
    /// <c>now − Δ·β·ln(rand) ≥ soft expiry</c>, Δ being how long the entry took to load. Zero turns it off.
    /// </summary>
    /// <value>The default value is 1.</value>
    [Range(0, 1000)]
    public double EarlyRefreshBeta { get; set; } = 1;

    /// <summary>
    /// How long a loader's lease lasts: while it holds the lease, callers in every process wait for its value
    /// instead of loading. A loader that dies or hangs loses the lease when it runs out, and another caller loads.
    /// </summary>
    /// <value>The default value is 10 seconds.</value>
    [TimeSpanRange("00:00:00.050", "00:10:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// After a refresh of a stale entry fails, the stale value is kept (fail-safe) and served for this long before
    /// the source is tried again, so a failing source is not called on every request.
    /// </summary>
    /// <value>The default value is 10 seconds.</value>
    [TimeSpanRange("00:00:00", "01:00:00")]
    public TimeSpan FailSafeThrottleDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long Redis is left alone after it keeps failing (a circuit breaker): during the break every call bypasses
    /// the cache at once instead of waiting for a timeout. Zero turns the breaker off; otherwise at least 0.5 seconds.
    /// </summary>
    /// <value>The default value is 5 seconds.</value>
    [TimeSpanRange("00:00:00", "00:10:00")]
    public TimeSpan CircuitBreakDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How many Redis calls failing in a row open the circuit breaker (a hung Redis fails every call).</summary>
    /// <value>The default value is 3.</value>
    [Range(1, 10_000)]
    public int CircuitBreakerConsecutiveFailures { get; set; } = 3;

    /// <summary>
    /// The longest a request waits for one Redis call before it is counted as failed and the request goes on without
    /// the cache (a hung Redis keeps its connections open, so only a timeout notices it). Zero leaves it to the
    /// connection's own timeouts.
    /// </summary>
    /// <value>The default value is 1 second.</value>
    [TimeSpanRange("00:00:00", "00:01:00")]
    public TimeSpan RedisTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The longest a request waits for Redis to take a durable write (a write-behind enqueue, a counted login) before
    /// it falls back to the database. Longer than <see cref="RedisTimeout"/>: an append-only file that syncs every
    /// write is slower than a read, and a timed-out durable write is ambiguous (Redis may still carry it out), so a
    /// fallback is made only when Redis has really stopped answering. Zero leaves it to the connection's timeouts.
    /// </summary>
    /// <value>The default value is 5 seconds.</value>
    [TimeSpanRange("00:00:00", "00:01:00")]
    public TimeSpan DurableRedisTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often an invalidation that could not reach Redis is tried again. Until it is applied, this instance's reads
    /// of the keys and tags it covers bypass the cache.
    /// </summary>
    /// <value>The default value is 500 milliseconds.</value>
    [TimeSpanRange("00:00:00.010", "00:10:00")]
    public TimeSpan InvalidationRetryInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How many Redis calls within 10 seconds, half of them failing, open the circuit breaker.</summary>
    /// <value>The default value is 10.</value>
    [Range(2, 10_000)]
    public int CircuitBreakerMinimumThroughput { get; set; } = 10;

    /// <summary>
    /// How values are serialized as JSON. Use the same options as the HTTP responses (naming policy, source-generated
    /// contexts) so that a cached value is the response body, ready to write. Options without a
    /// <see cref="JsonSerializerOptions.TypeInfoResolver"/> resolve types by reflection, which a trimmed or native AOT
    /// application does not have: there, set a source-generated <c>JsonSerializerContext</c> that covers the cached types.
    /// The typed API stores strings and byte arrays without JSON.
    /// </summary>
    /// <value>The default value is new options with <see cref="JsonSerializerDefaults.Web"/> (camelCase names) and no resolver.</value>
    [Required]
    public JsonSerializerOptions SerializerOptions { get; set; } = new(JsonSerializerDefaults.Web);

    /// <summary>How many keys one SCAN call asks for when removing by prefix.</summary>
    /// <value>The default value is 500.</value>
    [Range(10, 100_000)]
    public int ScanPageSize { get; set; } = 500;

    /// <summary>
    /// Whether an in-process L1 sits in front of Redis, kept coherent across instances by a pub/sub invalidation bus.
    /// </summary>
    /// <value>The default value is false.</value>
    public bool LocalCacheEnabled { get; set; }

    /// <summary>
    /// The longest an L1 copy is kept: the bound on how stale an instance can be if an invalidation message is lost.
    /// </summary>
    /// <value>The default value is 5 seconds.</value>
    [TimeSpanRange("00:00:00.001", "01:00:00")]
    public TimeSpan LocalMaxAge { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How many entries the L1 holds at most.</summary>
    /// <value>The default value is 10,000.</value>
    [Range(1, 10_000_000)]
    public int LocalSizeLimit { get; set; } = 10_000;

    /// <summary>
    /// When set, the L1 is bounded by the bytes of the values it holds instead of by <see cref="LocalSizeLimit"/>: each
    /// copy counts its serialized size, and a value larger than the bound is not kept at all (frequency admission is
    /// then off). The HybridCache API sets it from the <c>SizeLimit</c> of the application's <c>IMemoryCache</c>
    /// options (<c>AddMemoryCache(o => o.SizeLimit = …)</c>), as Microsoft's HybridCache honours them.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: the L1 is bounded by its entry count.</value>
    [Range(1L, long.MaxValue)]
    public long? LocalSizeLimitBytes { get; set; }

    /// <summary>
    /// Whether an L1 that is nearly full (90% of <see cref="LocalSizeLimit"/>) keeps a new copy only if its key was
    /// read at least twice lately, as counted by a small frequency sketch from half full on (TinyLFU's admission):
    /// keys read once (the long tail of a Zipf mix, a scan) then stop pushing popular ones out. Off, every copy is
    /// stored and MemoryCache's compaction (least recently used first) alone decides what stays.
    /// </summary>
    /// <value>The default value is true.</value>
    public bool LocalFrequencyAdmission { get; set; } = true;

    /// <summary>
    /// How many key families the counters keep apart (<see cref="KeyFamily"/>), first come first kept; keys of
    /// further families are counted under <see cref="KeyFamily.Other"/>, which is not counted in the cap. Each family
    /// costs a set of counters, a series per instrument on the meter and an entry in the statistics, so keys with a
    /// letters-only value in their second segment (<c>user-by-name:alice</c>) must not make one each. Ignored when
    /// <see cref="KeyFamilies"/> is set.
    /// </summary>
    /// <value>The default value is 100.</value>
    [Range(1, 10_000)]
    public int MaxKeyFamilies { get; set; } = 100;

    /// <summary>
    /// The key families the application uses, declared, e.g. <c>["user", "users:list"]</c>; empty to find them from
    /// the keys (<see cref="KeyFamily.Of"/>, bounded by <see cref="MaxKeyFamilies"/>). Each is a run of whole leading
    /// segments; a key is counted under the longest declared family it starts with (followed by <c>:</c> or the end
    /// of the key), any other key under <see cref="KeyFamily.Other"/>. Declaring them keeps user values out of family
    /// names entirely and keeps the families an operator expects from being crowded out by others.
    /// </summary>
    /// <value>The default value is empty: families are found from the keys.</value>
    [Required]
    public IReadOnlyList<string> KeyFamilies { get; set; } = [];

    /// <summary>The name of a keyed cache (its service key), tagged on its metrics and traces; null for the unkeyed one.</summary>
    internal string? Name { get; set; }

    /// <summary>The mechanisms in force; tests turn them off to show what goes wrong without them.</summary>
    internal CacheProtections Protections { get; set; } = CacheProtections.All;
}

/// <summary>The cache's concurrency mechanisms.</summary>
[Flags]
internal enum CacheProtections
{
    None = 0,

    /// <summary>One load per key at a time in this process; the other callers share it.</summary>
    SingleFlight = 1,

    /// <summary>A lease in Redis per load: one load per key across processes, and no write-back after an invalidation.</summary>
    Leases = 2,

    /// <summary>L1 copies stamped with the invalidations they were read under, so a late store cannot resurrect a value.</summary>
    LocalStamps = 4,

    /// <summary>An invalidation leaves a marker for the lease duration; a write-through that committed before it cannot land after.</summary>
    Revocations = 8,

    /// <summary>An invalidation Redis did not take is kept, retried, and bypassed by this instance's reads meanwhile.</summary>
    KeepInvalidations = 16,

    /// <summary>Tag members wait in a removal set until their entries are deleted, so an interrupted removal is finished by the next.</summary>
    TagRemovalSets = 32,

    /// <summary>An L1 copy leaves the tag index when it leaves the L1 (evicted, expired, replaced), not only when its tag is removed.</summary>
    LocalTagPruning = 64,

    /// <summary>A lease whose load could not hand it back (Redis failed) is released once Redis answers, not left to run out.</summary>
    ReleaseAbandonedLeases = 128,

    /// <summary>
    /// A tagged entry records its tags' versions, read before its value was; a removal by tag gives the tag a new
    /// version, and an entry whose versions are not all current (or whose tag's version is gone) is a miss.
    /// </summary>
    TagVersions = 256,

    All = SingleFlight | Leases | LocalStamps | Revocations | KeepInvalidations | TagRemovalSets | LocalTagPruning | ReleaseAbandonedLeases | TagVersions,
}
