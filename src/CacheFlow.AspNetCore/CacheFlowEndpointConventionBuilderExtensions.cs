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
    /// <param name="duration">How long a response stays cached.</param>
    /// <param name="tags">Tags every cached response carries, for removal by tag.</param>
    /// <returns>The builder, for chaining.</returns>
    public static TBuilder CacheResponse<TBuilder>(this TBuilder builder, string family, TimeSpan duration, params string[] tags)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentException.ThrowIfNullOrEmpty(family);
        var options = new CacheEntryOptions { Duration = duration, Tags = tags };
        builder.AddEndpointFilterFactory((context, next) => CacheResponseEndpointFilter.Create(context, next, family, options));
        return builder;
    }
}
