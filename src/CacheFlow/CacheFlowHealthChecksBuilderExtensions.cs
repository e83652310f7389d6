using CacheFlow.Health;
using CacheFlow.Registration;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the health check of a CacheFlow cache.</summary>
public static class CacheFlowHealthChecksBuilderExtensions
{
    private static readonly TimeSpan DefaultPingTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Checks a CacheFlow cache: healthy when Redis answers a PING, its circuit is closed and no invalidation waits for
    /// Redis; <paramref name="failureStatus"/> when Redis does not answer; degraded when it answers but the circuit is
    /// open or invalidations are pending (reads of what they cover bypass the cache meanwhile). The result's data holds
    /// <c>ping_ms</c>, <c>circuit</c>, <c>pending_invalidations</c> and <c>abandoned_leases</c>.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name.</param>
    /// <param name="serviceKey">The key of the cache to check (<c>AddKeyedCacheFlow</c>); null for the unkeyed one.</param>
    /// <param name="failureStatus">The status when Redis does not answer; null for <see cref="HealthStatus.Unhealthy"/>.</param>
    /// <param name="tags">Tags to select the check by, such as <c>ready</c>.</param>
    /// <param name="timeout">The longest the PING may take (a hung Redis answers nothing); null for 2 seconds.</param>
    /// <returns>The builder, for chaining.</returns>
    public static IHealthChecksBuilder AddCacheFlow(
        this IHealthChecksBuilder builder, string name = "cacheflow", object? serviceKey = null, HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var pingTimeout = timeout ?? DefaultPingTimeout;
        return builder.Add(new HealthCheckRegistration(
            name, services => new CacheFlowHealthCheck(CacheFlowRegistration.CacheIn(services, serviceKey), pingTimeout), failureStatus, tags));
    }
}
