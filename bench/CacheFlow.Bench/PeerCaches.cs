using System.Text.Json;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;
using ZiggyCreatures.Caching.Fusion.Backplane.StackExchangeRedis;
using ZiggyCreatures.Caching.Fusion.Serialization.SystemTextJson;

namespace CacheFlow.Bench;

/// <summary>The peers, set up one way for every scenario: the same Redis, the same JSON as the API.</summary>
public static class PeerCaches
{
    /// <summary>The API's JSON: snake_case, as every variant serializes its values.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>FusionCache: its memory L1, Redis as L2 (<c>Microsoft.Extensions.Caching.StackExchangeRedis</c>), the Redis backplane.</summary>
    public static FusionCache Fusion(IConnectionMultiplexer redis, string name, string keyPrefix, JsonSerializerOptions json, FusionCacheEntryOptions? defaults = null, IMemoryCache? memory = null)
    {
        var fusion = new FusionCache(new FusionCacheOptions { CacheName = name, CacheKeyPrefix = keyPrefix, DefaultEntryOptions = defaults ?? new FusionCacheEntryOptions() }, memory);
        fusion.SetupDistributedCache(new RedisCache(new RedisCacheOptions { ConnectionMultiplexerFactory = () => Task.FromResult(redis) }),
            new FusionCacheSystemTextJsonSerializer(json));
        fusion.SetupBackplane(new RedisBackplane(new RedisBackplaneOptions { ConnectionMultiplexerFactory = () => Task.FromResult(redis) }));
        return fusion;
    }

    /// <summary>HybridCache over the same Redis (its <c>IDistributedCache</c>), in a service provider of its own (its L1 a MemoryCache configured by <paramref name="memory"/>, if given).</summary>
    public static ServiceProvider Hybrid(IConnectionMultiplexer redis, HybridCacheEntryOptions? defaults = null, Action<MemoryCacheOptions>? memory = null)
    {
        var services = new ServiceCollection();
        if (memory is not null)
            services.AddMemoryCache(memory);
        services.AddStackExchangeRedisCache(o => o.ConnectionMultiplexerFactory = () => Task.FromResult(redis));
        services.AddHybridCache(o => o.DefaultEntryOptions = defaults ?? o.DefaultEntryOptions);
        return services.BuildServiceProvider();
    }
}
