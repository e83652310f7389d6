using CacheFlow.AspNetCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the start-up check of <c>.CacheResponse</c> endpoints.</summary>
public static class CacheResponseServiceCollectionExtensions
{
    /// <summary>
    /// Builds every endpoint when the host starts, so a <c>.CacheResponse</c> endpoint whose handler binds something
    /// its key does not cover fails the start with an <see cref="InvalidOperationException"/>. Without it, minimal
    /// APIs build endpoints at the first request, and that request (and each one after it) fails instead.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <returns>The service collection, for chaining.</returns>
    public static IServiceCollection AddCacheResponseValidation(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, CacheResponseValidation>());
        return services;
    }
}
