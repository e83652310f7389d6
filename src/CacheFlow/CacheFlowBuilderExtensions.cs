using CacheFlow;
using CacheFlow.Registration;
using CacheFlow.Validation;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Further CacheFlow registrations on what <c>AddCacheFlow</c> returned.</summary>
public static class CacheFlowBuilderExtensions
{
    /// <summary>
    /// Registers CacheFlow as the application's <see cref="HybridCache"/> (<see cref="CacheFlowHybridCache"/>), in place of
    /// any other: code written for HybridCache runs on CacheFlow unchanged. HybridCache is a two-level cache, so turn
    /// CacheFlow's L1 on (<see cref="CacheFlowOptions.LocalCacheEnabled"/>) unless every instance should read Redis.
    /// On a keyed cache (<c>AddKeyedCacheFlow</c>) it registers a keyed <see cref="HybridCache"/> with the same key, over
    /// that cache, with options of its own.
    /// </summary>
    /// <param name="builder">What <c>AddCacheFlow</c> returned.</param>
    /// <param name="configure">
    /// Configures Microsoft's <see cref="HybridCacheOptions"/>, the same options <c>AddHybridCache(o => …)</c> configures:
    /// settings made either way (or with <c>Configure&lt;HybridCacheOptions&gt;</c>) are honoured.
    /// </param>
    /// <returns>The builder, for chaining.</returns>
    public static ICacheFlowBuilder AsHybridCache(this ICacheFlowBuilder builder, Action<HybridCacheOptions>? configure = null)
    {
        var name = CacheFlowRegistration.NameOf(builder.ServiceKey);
        var options = builder.Services.AddOptions<HybridCacheOptions>(name);
        if (configure is not null)
            options.Configure(configure);
        // An IMemoryCache SizeLimit the application set bounds the L1 in bytes, as it bounds Microsoft's HybridCache.
        builder.Services.AddOptions<CacheFlowOptions>(name).PostConfigure<IOptions<MemoryCacheOptions>>(static (cache, memory) => cache.LocalSizeLimitBytes ??= memory.Value.SizeLimit);
        if (builder.ServiceKey is not { } key)
        {
            builder.Services.TryAddSingleton(static services => NewHybridCache(services, key: null));
            builder.Services.Replace(ServiceDescriptor.Singleton<HybridCache>(static services => services.GetRequiredService<CacheFlowHybridCache>()));
        }
        else
        {
            builder.Services.AddKeyedSingleton(key, static (services, key) => NewHybridCache(services, key));
            builder.Services.AddKeyedSingleton<HybridCache>(key, static (services, key) => services.GetRequiredKeyedService<CacheFlowHybridCache>(key));
        }

        return builder;
    }

    /// <summary>The HybridCache over the cache registered under <paramref name="key"/>, with the options of its name.</summary>
    private static CacheFlowHybridCache NewHybridCache(IServiceProvider services, object? key)
    {
        var name = CacheFlowRegistration.NameOf(key);
        return new CacheFlowHybridCache(
            CacheFlowRegistration.CacheIn(services, key),
            Options.Options.Create(services.GetRequiredService<IOptionsMonitor<HybridCacheOptions>>().Get(name)),
            Options.Options.Create(services.GetRequiredService<IOptionsMonitor<CacheFlowOptions>>().Get(name)),
            services,
            services.GetService<ILogger<CacheFlowHybridCache>>() ?? NullLogger<CacheFlowHybridCache>.Instance,
            services.GetService<System.Diagnostics.Metrics.IMeterFactory>());
    }
}
