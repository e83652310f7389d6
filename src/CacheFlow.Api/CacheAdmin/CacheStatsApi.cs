using System.Globalization;
using CacheFlow.Api.Http;
using CacheFlow.Api.Observability;
using CacheFlow.Api.Redis;
using CacheFlow.Redis;
using CacheFlow.WriteBehind;
using Microsoft.AspNetCore.Http.HttpResults;
using StackExchange.Redis;

namespace CacheFlow.Api.CacheAdmin;

/// <summary><c>GET /cache/stats</c>: what the cache did, and the Redis server's own figures.</summary>
public static class CacheStatsApi
{
    /// <summary>Maps the endpoint.</summary>
    public static IEndpointRouteBuilder MapCacheStatsApi(this IEndpointRouteBuilder app)
    {
        var cache = app.MapGroup("/cache").WithTags("Cache");
        // Limited as the reads are: each call asks every Redis primary for INFO and DBSIZE.
        cache.MapGet("/stats", GetStats)
            .WithSummary("Cache counters (hits, misses, hit ratio, loads…) in total and by key family, latency by outcome, write-behind and Redis INFO figures.")
            .RequireRateLimiting(RateLimits.Reads);
        cache.MapPost("/stats/reset", ResetStats).RequireAdminKey()
            .WithSummary("Zeroes the application's counters (admin). Prometheus counters at /metrics keep counting.");
        return app;
    }

    private static async Task<Ok<CacheStatsResponse>> GetStats(ICacheFlow cache, IConnectionMultiplexer redis, RedisGuard guard, WriteBehindQueue queue, OutcomeLatency latency)
    {
        var statistics = cache.GetStatistics();
        return TypedResults.Ok(new CacheStatsResponse(
            CacheCounters.From(statistics.Total),
            statistics.Families.ToDictionary(f => f.Key, f => CacheCounters.From(f.Value)),
            latency.Percentiles(),
            await RedisServerStats.ReadAsync(redis, guard),
            queue.Statistics,
            statistics.PendingInvalidations));
    }

    private static NoContent ResetStats(ICacheFlow cache, WriteBehindQueue queue, OutcomeLatency latency)
    {
        cache.ResetStatistics();
        queue.ResetStatistics();
        latency.Reset();
        return TypedResults.NoContent();
    }
}

/// <summary>The body of <c>GET /cache/stats</c>.</summary>
/// <param name="CacheStats">The totals.</param>
/// <param name="Families">The counters of each key family.</param>
/// <param name="Latency">Recent request durations by cache outcome (hit, miss, stale, bypass), in milliseconds.</param>
/// <param name="RedisStats">The Redis server's figures.</param>
/// <param name="WriteBehind">The write-behind queue: this process's counters, the queue's depth, dead letters and lag at the last measure.</param>
/// <param name="PendingInvalidations">
/// Invalidations this instance made that Redis has not taken yet (it failed or hung): retried, and reads of what they
/// cover bypass the cache here until they are applied.
/// </param>
public sealed record CacheStatsResponse(
    CacheCounters CacheStats, IReadOnlyDictionary<string, CacheCounters> Families, IReadOnlyDictionary<string, LatencyPercentiles> Latency,
    RedisServerStats RedisStats, WriteBehindStatistics WriteBehind, int PendingInvalidations);

/// <summary>The cache's counters as the API shows them.</summary>
public sealed record CacheCounters(
    long Hits, long L1Hits, long Misses, string HitRatio, long Total, long Stale, long Loads, long LoadFailures, long Bypasses, long Errors, long LeaseLost)
{
    /// <summary>Shows a statistics snapshot, the hit ratio as "NN.NN%".</summary>
    public static CacheCounters From(CacheFamilyStatistics s) => new(
        s.Hits, s.LocalHits, s.Misses, (s.HitRatio * 100).ToString("F2", CultureInfo.InvariantCulture) + "%", s.Reads,
        s.Stale, s.Loads, s.LoadFailures, s.Bypasses, s.Errors, s.LeaseLost);
}
