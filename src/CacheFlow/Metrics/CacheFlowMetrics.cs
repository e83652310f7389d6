using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace CacheFlow.Metrics;

/// <summary>
/// The cache's counters: lock-free per key family, readable as a snapshot for <c>/cache/stats</c> and exported
/// through the <c>CacheFlow</c> meter as observable counters tagged with the family. The families are bounded
/// (<see cref="FamilyTable"/>), and so are the memory and the series they cost.
/// </summary>
internal sealed class CacheFlowMetrics : IDisposable
{
    private readonly FamilyTable _families;
    private readonly Meter _meter;
    private readonly Histogram<double> _loadDuration;
    private readonly Histogram<double> _leaseWait;
    private readonly KeyValuePair<string, object?>? _cache;
    private IReadOnlyDictionary<string, CacheFamilyStatistics> _baseline = new Dictionary<string, CacheFamilyStatistics>();

    public CacheFlowMetrics(IMeterFactory? meterFactory, CacheFlowOptions options, Func<long?> localEntries, Func<int> pendingInvalidations, Func<int> abandonedLeases)
    {
        PendingInvalidations = pendingInvalidations;
        _families = new FamilyTable(options);
        // A keyed cache tags its measurements (and its meter, so the factory gives it a meter of its own) with its name.
        _cache = options.Name is { } name ? new KeyValuePair<string, object?>("cache", name) : null;
        var meterOptions = new MeterOptions(CacheFlowMeter.Name) { Tags = _cache is { } tag ? [tag] : null };
        _meter = meterFactory?.Create(meterOptions) ?? new Meter(meterOptions);
        Observe("cacheflow.hits", "Reads answered from Redis.", c => c.Hits - c.LocalHits, new KeyValuePair<string, object?>("level", "l2"));
        Observe("cacheflow.hits", "Reads answered from the in-process L1.", c => c.LocalHits, new KeyValuePair<string, object?>("level", "l1"));
        _meter.CreateObservableGauge("cacheflow.l1.entries", () => new Measurement<long>(localEntries() ?? 0, CacheTags()), "{entry}", "Entries in the in-process L1.");
        _meter.CreateObservableGauge("cacheflow.invalidations.pending", () => new Measurement<int>(pendingInvalidations(), CacheTags()), "{invalidation}",
            "Invalidations Redis did not take yet; reads of what they cover bypass the cache until they are applied.");
        Observe("cacheflow.misses", "Reads that found no usable value and waited for a load.", c => c.Misses);
        Observe("cacheflow.stale", "Reads answered with a stale value.", c => c.Stale);
        Observe("cacheflow.lease_lost", "Write-backs refused because an invalidation revoked the load's lease.", c => c.LeaseLost);
        Observe("cacheflow.loads", "Factory calls (source-of-truth reads) made by the cache.", c => c.Loads);
        Observe("cacheflow.load_failures", "Factory calls that threw.", c => c.LoadFailures);
        Observe("cacheflow.bypasses", "Reads served from the source because Redis was unreachable.", c => c.Bypasses);
        Observe("cacheflow.errors", "Redis operations that failed.", c => c.Errors);
        _loadDuration = _meter.CreateHistogram("cacheflow.load.duration", "s", "How long factory calls take.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = CacheFlowMeter.SecondsBuckets });
        _leaseWait = _meter.CreateHistogram("cacheflow.lease.wait", "s",
            "How long a read waited for another loader's lease (in this process or another) before it had the value, the lease, or gave up.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = CacheFlowMeter.SecondsBuckets });
        _meter.CreateObservableGauge("cacheflow.leases.abandoned", () => new Measurement<int>(abandonedLeases(), CacheTags()), "{lease}",
            "Leases whose load could not hand them back (Redis failed), waiting to be released once Redis answers.");
    }

    private Func<int> PendingInvalidations { get; }

    /// <summary>The counters of a key's family (<see cref="FamilyCounters.Family"/> names it, bounded).</summary>
    public FamilyCounters For(string key) => _families.For(key);

    /// <summary>Counts a load of <paramref name="key"/>, which <paramref name="counters"/> count, and times it.</summary>
    public void RecordLoad(FamilyCounters counters, string key, TimeSpan elapsed)
    {
        counters.AddLoad();
        if (_loadDuration.Enabled)
            _loadDuration.Record(elapsed.TotalSeconds, Tags(counters.Family));
    }

    /// <summary>Times a read's wait for another loader's lease.</summary>
    public void RecordLeaseWait(FamilyCounters counters, TimeSpan waited)
    {
        if (_leaseWait.Enabled)
            _leaseWait.Record(waited.TotalSeconds, Tags(counters.Family));
    }

    /// <summary>The counters since the start or the last <see cref="Reset"/>.</summary>
    public CacheStatistics Snapshot()
    {
        var baseline = _baseline;
        var families = _families.All.ToDictionary(
            f => f.Key, f => f.Value.Snapshot().Minus(baseline.GetValueOrDefault(f.Key)), StringComparer.Ordinal);
        return new CacheStatistics(CacheFamilyStatistics.Sum(families.Values), families) { PendingInvalidations = PendingInvalidations() };
    }

    /// <summary>
    /// Zeroes what <see cref="Snapshot"/> reports. The exported counters keep counting: Prometheus counters never go
    /// down, and rates over them stay right.
    /// </summary>
    public void Reset() => _baseline = _families.All.ToDictionary(f => f.Key, f => f.Value.Snapshot(), StringComparer.Ordinal);

    public void Dispose() => _meter.Dispose();

    private void Observe(string name, string description, Func<FamilyCounters, long> read, KeyValuePair<string, object?>? extraTag = null) =>
        _meter.CreateObservableCounter(name, () => _families.All.Select(f => new Measurement<long>(read(f.Value), Tags(f.Key, extraTag))), unit: "{operation}", description);

    /// <summary>A family's tags: the family, <paramref name="extraTag"/> if any, the cache's name if it has one.</summary>
    private TagList Tags(string family, KeyValuePair<string, object?>? extraTag = null)
    {
        var tags = new TagList { { "family", family } };
        if (extraTag is { } extra)
            tags.Add(extra);
        if (_cache is { } cache)
            tags.Add(cache);
        return tags;
    }

    private TagList CacheTags() => _cache is { } cache ? new TagList { cache } : default;
}

/// <summary>The counters of one key family; incremented without locks.</summary>
/// <param name="family">The family's name, the one metrics and logs may show (never a whole key).</param>
internal sealed class FamilyCounters(string family)
{
    private long _hits, _localHits, _misses, _stale, _loads, _loadFailures, _bypasses, _errors, _leaseLost;

    public string Family { get; } = family;

    /// <summary>Reads answered from Redis or the L1 (an L1 hit counts only as <see cref="LocalHits"/>: one increment per hit).</summary>
    public long Hits => Volatile.Read(ref _hits) + Volatile.Read(ref _localHits);
    public long LocalHits => Volatile.Read(ref _localHits);
    public long Misses => Volatile.Read(ref _misses);
    public long Stale => Volatile.Read(ref _stale);
    public long LeaseLost => Volatile.Read(ref _leaseLost);
    public long Loads => Volatile.Read(ref _loads);
    public long LoadFailures => Volatile.Read(ref _loadFailures);
    public long Bypasses => Volatile.Read(ref _bypasses);
    public long Errors => Volatile.Read(ref _errors);

    /// <summary>Counts a hit answered from Redis.</summary>
    public void AddHit() => Interlocked.Increment(ref _hits);

    /// <summary>Counts a hit answered from the L1 (it is a hit too: <see cref="Hits"/> includes it).</summary>
    public void AddLocalHit() => Interlocked.Increment(ref _localHits);
    public void AddMiss() => Interlocked.Increment(ref _misses);
    public void AddStale() => Interlocked.Increment(ref _stale);
    public void AddLeaseLost() => Interlocked.Increment(ref _leaseLost);
    public void AddLoad() => Interlocked.Increment(ref _loads);
    public void AddLoadFailure() => Interlocked.Increment(ref _loadFailures);
    public void AddBypass() => Interlocked.Increment(ref _bypasses);
    public void AddError() => Interlocked.Increment(ref _errors);

    public CacheFamilyStatistics Snapshot() => new(Hits, Misses, Stale, Loads, LoadFailures, Bypasses, Errors, LeaseLost) { LocalHits = LocalHits };
}
