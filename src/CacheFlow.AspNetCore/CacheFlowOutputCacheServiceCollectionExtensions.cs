using CacheFlow.AspNetCore;
using Microsoft.AspNetCore.OutputCaching;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers CacheFlow as the store of ASP.NET Core output caching.</summary>
public static class CacheFlowOutputCacheServiceCollectionExtensions
{
    /// <summary>
    /// Makes <see cref="CacheFlowOutputCacheStore"/> the <see cref="IOutputCacheStore"/> of output caching, in place of
    /// the in-memory store, whether <c>AddOutputCache</c> is called before or after. It stores responses in the
    /// <see cref="CacheFlow.ICacheFlow"/> that <c>AddCacheFlow</c> registers, so that must be called too.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures <see cref="CacheFlowOutputCacheOptions"/>.</param>
    /// <returns>The service collection, for chaining.</returns>
    /// <example><c>services.AddCacheFlow(); services.AddOutputCache().AddCacheFlowOutputCacheStore();</c></example>
    public static IServiceCollection AddCacheFlowOutputCacheStore(this IServiceCollection services, Action<CacheFlowOutputCacheOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<CacheFlowOutputCacheOptions>();
        if (configure is not null)
            options.Configure(configure);
        services.TryAddSingleton<CacheFlowOutputCacheStore>();
        // AddOutputCache registers the in-memory store with TryAdd: replaced if it came first, not added if it comes after.
        services.Replace(ServiceDescriptor.Singleton<IOutputCacheStore>(provider => provider.GetRequiredService<CacheFlowOutputCacheStore>()));
        return services;
    }
}
