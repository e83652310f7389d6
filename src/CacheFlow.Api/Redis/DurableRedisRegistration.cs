using CacheFlow.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CacheFlow.Api.Redis;

/// <summary>Registers the Redis that holds durable data and its checks.</summary>
internal static class DurableRedisRegistration
{
    /// <summary>
    /// Durable data on <c>ConnectionStrings:DurableRedis</c> if set; otherwise, when the cache's Redis is the embedded
    /// one, on an embedded Garnet of its own that waits for its append-only file under the data directory; otherwise on
    /// the cache's connection. Checked at start (registered before the storage is initialized, so a refused
    /// configuration fails the start first) and after.
    /// </summary>
    public static IServiceCollection AddDurableRedis(this IServiceCollection services, IConfiguration configuration, Func<IServiceProvider, string> dataDirectory)
    {
        services.AddOptions<DurableDataOptions>().BindConfiguration("DurableData").ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp =>
        {
            var (cache, options, time) = (sp.GetRequiredService<IOptions<CacheFlowOptions>>(), sp.GetRequiredService<IOptions<DurableDataOptions>>(), sp.GetRequiredService<TimeProvider>());
            if (configuration.GetConnectionString("DurableRedis") is { } own && !string.IsNullOrWhiteSpace(own))
                return DurableRedis.Own(RedisEndpoint.Create(own), "ConnectionStrings:DurableRedis", cache, options, time);
            if (sp.GetRequiredService<RedisEndpoint>().Embedded is not null)
                return DurableRedis.Own(RedisEndpoint.CreateDurable(dataDirectory(sp)), "embedded beside the cache's", cache, options, time);
            return DurableRedis.Share(sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<RedisGuard>(), options);
        });
        services.AddSingleton<DurableRedisMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<DurableRedisMonitor>());
        return services;
    }
}
