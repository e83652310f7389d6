using CacheFlow.Api.Data;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CacheFlow.Api.Health;

/// <summary>Readiness: the users database answers.</summary>
internal sealed class DatabaseHealthCheck(IUserRepository users) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await users.PingAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException || DatabaseFailure.IsUnavailable(ex))
        {
            return HealthCheckResult.Unhealthy("The database does not answer.", ex);
        }
    }
}
