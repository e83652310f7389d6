using CacheFlow;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Further CacheFlow registrations on what <c>AddCacheFlow</c> returned.</summary>
public static class CacheFlowBuilderExtensions
{
    /// <summary>
    /// Registers CacheFlow as the application's <see cref="HybridCache"/> (<see cref="CacheFlowHybridCache"/>), in place of
    /// any other: code written for HybridCache runs on CacheFlow unchanged. HybridCache is a two-level cache, so turn
    /// CacheFlow's L1 on (<see cref="CacheFlowOptions.LocalCacheEnabled"/>) unless every instance should read Redis.
    /// </summary>
    /// <param name="builder">What <c>AddCacheFlow</c> returned.</param>
    /// <param name="configure">
    /// Configures Microsoft's <see cref="HybridCacheOptions"/>, the same options <c>AddHybridCache(o => …)</c> configures:
    /// settings made either way (or with <c>Configure&lt;HybridCacheOptions&gt;</c>) are honoured.
    /// </param>
    /// <returns>The builder, for chaining.</returns>
    public static ICacheFlowBuilder AsHybridCache(this ICacheFlowBuilder builder, Action<HybridCacheOptions>? configure = null)
    {
        var options = builder.Services.AddOptions<HybridCacheOptions>();
        if (configure is not null)
            options.Configure(configure);
        // An IMemoryCache SizeLimit the application set bounds the L1 in bytes, as it bounds Microsoft's HybridCache.
        builder.Services.AddOptions<CacheFlowOptions>().PostConfigure<IOptions<MemoryCacheOptions>>(static (cache, memory) => cache.LocalSizeLimitBytes ??= memory.Value.SizeLimit);
        builder.Services.TryAddSingleton<CacheFlowHybridCache>();
        builder.Services.Replace(ServiceDescriptor.Singleton<HybridCache>(static services => services.GetRequiredService<CacheFlowHybridCache>()));
        return builder;
    }
}
