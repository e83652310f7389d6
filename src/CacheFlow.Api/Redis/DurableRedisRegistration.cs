using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CacheFlow.Api.Redis;

/// <summary>Registers the Redis that holds durable data and its checks.</summary>
internal static class DurableRedisRegistration
{
    /// <summary>
    /// Durable data on <c>ConnectionStrings:DurableRedis</c> if set, otherwise on the cache's connection; checked at
    /// start (registered before the storage is initialized, so a refused configuration fails the start first) and after.
    /// </summary>
    public static IServiceCollection AddDurableRedis(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DurableDataOptions>().BindConfiguration("DurableData").ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp => configuration.GetConnectionString("DurableRedis") is { } own && !string.IsNullOrWhiteSpace(own)
            ? DurableRedis.Connect(own, sp.GetRequiredService<IOptions<CacheFlowOptions>>(), sp.GetRequiredService<IOptions<DurableDataOptions>>(),
                sp.GetRequiredService<TimeProvider>())
            : DurableRedis.Share(sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<RedisGuard>(),
                sp.GetRequiredService<IOptions<DurableDataOptions>>()));
        services.AddSingleton<DurableRedisMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<DurableRedisMonitor>());
        return services;
    }
}
