using CacheFlow;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers CacheFlow in a service collection.</summary>
public static class CacheFlowServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="ICacheFlow"/> over the <see cref="StackExchange.Redis.IConnectionMultiplexer"/> registered in
    /// <paramref name="services"/>, with its options validated on start.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures <see cref="CacheFlowOptions"/>.</param>
    /// <returns>A builder for further CacheFlow registrations, such as <c>AsHybridCache()</c>.</returns>
    public static ICacheFlowBuilder AddCacheFlow(this IServiceCollection services, Action<CacheFlowOptions>? configure = null)
    {
        var options = services.AddOptions<CacheFlowOptions>().ValidateDataAnnotations().ValidateOnStart();
        if (configure is not null)
            options.Configure(configure);
        services.TryAddSingleton(TimeProvider.System);
        // One guard per connection: the cache and whatever else shares Redis (write-behind, counters) see one circuit.
        services.TryAddSingleton<RedisGuard>();
        services.TryAddSingleton<ICacheFlow, CacheFlowCache>();
        return new CacheFlowBuilder(services);
    }
}
