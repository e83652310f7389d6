using CacheFlow;
using CacheFlow.AspNetCore;
using Microsoft.AspNetCore.Http;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Adds response caching through CacheFlow to minimal-API endpoints.</summary>
public static class CacheFlowEndpointConventionBuilderExtensions
{
    /// <summary>
    /// Caches the endpoint's 200 responses in CacheFlow under <c>{family}:{name}={value}:…</c>, built from the
    /// handler's bound simple arguments, and reports the outcome in <c>X-Cache</c>.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint builder type.</typeparam>
    /// <param name="builder">The endpoint.</param>
    /// <param name="family">The key family, such as <c>users:list</c>.</param>
    /// <param name="options">How responses are cached: freshness, stale window, tags.</param>
    /// <returns>The builder, for chaining.</returns>
    public static TBuilder CacheResponse<TBuilder>(this TBuilder builder, string family, CacheEntryOptions options)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentException.ThrowIfNullOrEmpty(family);
        ArgumentNullException.ThrowIfNull(options);
        builder.AddEndpointFilterFactory((context, next) => CacheResponseEndpointFilter.Create(context, next, family, options));
        return builder;
    }
}
