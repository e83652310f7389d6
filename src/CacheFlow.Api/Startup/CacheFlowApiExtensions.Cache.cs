using CacheFlow;
using CacheFlow.Api.Redis;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Builder;

public static partial class CacheFlowApiExtensions
{
    /// <summary>The cache (configuration section <c>CacheFlow</c>), serializing as the responses do.</summary>
    private static void AddCache(IServiceCollection services, IConfiguration configuration)
    {
        services.AddCacheFlow(configuration.GetSection("CacheFlow"));
        // A .CacheResponse endpoint whose key cannot cover its handler fails the start, not the first request.
        services.AddCacheResponseValidation();
        // The cache serializes with the HTTP options, so a cached value is the response body as it is.
        services.AddOptions<CacheFlowOptions>().Configure<IOptions<JsonOptions>>((cache, json) => cache.SerializerOptions = json.Value.SerializerOptions);
        // The embedded Garnet runs in this process: an answer slower than a second means a busy CPU, not a lost
        // server, and bypassing the cache then only moves the load to the database. Unless the timeout is configured,
        // it is the durable data's (5 s) there, so a fresh start on a busy machine still answers MISS, then HIT.
        if (configuration["CacheFlow:RedisTimeout"] is null)
        {
            services.AddOptions<CacheFlowOptions>().PostConfigure<RedisEndpoint>((cache, redis) =>
            {
                if (redis.Embedded is not null)
                    cache.RedisTimeout = cache.DurableRedisTimeout;
            });
        }
    }
}
