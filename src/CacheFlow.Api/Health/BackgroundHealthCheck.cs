using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CacheFlow.Api.Health;

/// <summary>Readiness: no background worker's last attempt failed other than by an outage (<see cref="BackgroundFailures"/>).</summary>
internal sealed class BackgroundHealthCheck(BackgroundFailures failures) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var faults = failures.Faults.OrderBy(f => f.Key, StringComparer.Ordinal)
            .Select(f => $"{f.Key} failed {f.Value.Attempts} time(s) in a row ({f.Value.Error}; see event 2122 in the logs)").ToList();
        return Task.FromResult(faults.Count == 0 ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy(string.Join("; ", faults)));
    }
}
