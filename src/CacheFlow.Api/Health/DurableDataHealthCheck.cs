using CacheFlow.Api.Redis;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CacheFlow.Api.Health;

/// <summary>
/// Readiness: the Redis that holds durable data cannot lose it (Healthy, with what was checked), can and the operator
/// accepted it (Degraded), or can, cannot be verified, or has not answered (Unhealthy). A Redis not checked yet is
/// checked now.
/// </summary>
internal sealed class DurableDataHealthCheck(DurableRedis durable, DurableRedisMonitor monitor) : IHealthCheck
{
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(2);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var verdict = durable.Verdict;
        if (verdict.State == DurableRedisState.Unchecked)
        {
            try
            {
                // Bounded: a hung Redis answers nothing, and readiness must say so rather than wait.
                verdict = await monitor.CheckAsync().WaitAsync(CheckTimeout, cancellationToken);
            }
            catch (TimeoutException)
            {
                verdict = durable.Verdict;
            }
        }

        var problems = string.Join("; ", verdict.Problems);
        return verdict.State switch
        {
            DurableRedisState.Safe => HealthCheckResult.Healthy($"Durable data is {durable.Description}, checked: {verdict.Summary}"),
            _ when durable.AllowsDataLoss => HealthCheckResult.Degraded(
                $"Durable data is {durable.Description} ({verdict.State}), and DurableData:AllowDataLoss=true accepts losing writes: {problems}"),
            _ => HealthCheckResult.Unhealthy($"Durable data is {durable.Description} ({verdict.State}); durable writes go to the database: {problems}"),
        };
    }
}
