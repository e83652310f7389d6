using System.Globalization;
using CacheFlow.Redis;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CacheFlow.Health;

/// <summary>
/// A cache's health: Redis answers a PING within <paramref name="pingTimeout"/> (a hung Redis keeps its socket open, so
/// only a bound notices it), the circuit breaker is closed, and no invalidation waits for Redis. Unreachable is the
/// registration's failure status; reachable with the circuit open, or with invalidations pending (reads of what they
/// cover bypass the cache), is degraded. The data says each: <c>ping_ms</c>, <c>circuit</c>,
/// <c>pending_invalidations</c>, <c>abandoned_leases</c>.
/// </summary>
internal sealed class CacheFlowHealthCheck(CacheFlowCache cache, TimeSpan pingTimeout) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var circuitOpen = cache.CircuitOpen;
        var pending = cache.PendingInvalidations;
        var data = new Dictionary<string, object>
        {
            ["circuit"] = circuitOpen ? "open" : "closed",
            ["pending_invalidations"] = pending,
            ["abandoned_leases"] = cache.AbandonedLeases.Count,
        };
        TimeSpan latency;
        try
        {
            latency = await cache.Redis.GetDatabase().PingAsync().WaitAsync(pingTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisGuard.IsFailure(ex))
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "Redis does not answer.", ex, data);
        }

        data["ping_ms"] = latency.TotalMilliseconds;
        var ping = string.Create(CultureInfo.InvariantCulture, $"PING {latency.TotalMilliseconds:F1} ms");
        if (circuitOpen)
            return HealthCheckResult.Degraded($"{ping}, but the circuit is open: reads bypass the cache until a probe succeeds.", data: data);
        if (pending > 0)
            return HealthCheckResult.Degraded($"{ping}, but {pending} invalidation(s) wait for Redis: reads of what they cover bypass the cache.", data: data);
        return HealthCheckResult.Healthy(ping, data);
    }
}
