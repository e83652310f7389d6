using System.Diagnostics;
using System.Diagnostics.Metrics;
using CacheFlow.AspNetCore;

namespace CacheFlow.Api.Observability;

/// <summary>
/// How long requests take by how the cache answered them (the <c>X-Cache</c> header): a histogram on the
/// <c>CacheFlow</c> meter for Prometheus, and the last 2,048 durations of each outcome for the percentiles in
/// <c>/cache/stats</c>.
/// </summary>
public sealed class OutcomeLatency
{
    private const int Window = 2048;
    private static readonly string[] Outcomes = ["HIT", "MISS", "STALE", "BYPASS"];

    private readonly Histogram<double> _duration;
    private readonly Dictionary<string, Samples> _samples = Outcomes.ToDictionary(o => o, _ => new Samples());

    /// <summary>Creates the histogram on the <c>CacheFlow</c> meter.</summary>
    public OutcomeLatency(IMeterFactory meters) =>
        _duration = meters.Create(CacheFlowMeter.Name).CreateHistogram("cacheflow.http.duration", "s", "Request duration by cache outcome (X-Cache).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = CacheFlowMeter.SecondsBuckets });

    /// <summary>Records one request's duration under its outcome.</summary>
    public void Record(string outcome, TimeSpan elapsed)
    {
        if (!_samples.TryGetValue(outcome, out var samples))
            return;
        samples.Add(elapsed.TotalMilliseconds);
        _duration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("outcome", outcome));
    }

    /// <summary>The 50th, 95th and 99th percentiles of each outcome's recent durations, in milliseconds.</summary>
    public IReadOnlyDictionary<string, LatencyPercentiles> Percentiles() =>
        _samples.ToDictionary(s => s.Key.ToLowerInvariant(), s => s.Value.Percentiles());

    /// <summary>Forgets the recent durations (the histogram keeps counting).</summary>
    public void Reset()
    {
        foreach (var samples in _samples.Values)
            samples.Clear();
    }

    /// <summary>Middleware that times every request carrying an <c>X-Cache</c> header.</summary>
    public async Task TimeAsync(HttpContext context, RequestDelegate next)
    {
        var started = Stopwatch.GetTimestamp();
        await next(context);
        if (context.Response.Headers.TryGetValue(CacheHeaders.XCache, out var outcome))
            Record(outcome.ToString(), Stopwatch.GetElapsedTime(started));
    }

    /// <summary>A ring of recent durations; writers claim slots with one interlocked increment.</summary>
    private sealed class Samples
    {
        private readonly double[] _ring = new double[Window];
        private long _count;

        public void Add(double milliseconds) => _ring[(Interlocked.Increment(ref _count) - 1) % Window] = milliseconds;

        public void Clear() => Interlocked.Exchange(ref _count, 0);

        public LatencyPercentiles Percentiles()
        {
            var count = (int)Math.Min(Volatile.Read(ref _count), Window);
            if (count == 0)
                return new LatencyPercentiles(0, null, null, null);
            var sorted = _ring[..count];
            Array.Sort(sorted);
            double At(double q) => Math.Round(sorted[Math.Min(count - 1, (int)(q * count))], 3);
            return new LatencyPercentiles(count, At(0.50), At(0.95), At(0.99));
        }
    }
}

/// <summary>Percentiles of recent request durations, in milliseconds.</summary>
/// <param name="Samples">How many recent requests they are computed over (at most 2,048).</param>
/// <param name="P50">The median.</param>
/// <param name="P95">The 95th percentile.</param>
/// <param name="P99">The 99th percentile.</param>
public sealed record LatencyPercentiles(int Samples, double? P50, double? P95, double? P99);
