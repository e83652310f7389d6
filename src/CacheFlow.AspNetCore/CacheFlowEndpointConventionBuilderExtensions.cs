using System.Diagnostics.CodeAnalysis;
using CacheFlow;
using CacheFlow.AspNetCore;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Adds response caching through CacheFlow to minimal-API endpoints.</summary>
/// <remarks>
/// The key is decided by reading the handler's parameter types by reflection (their constructors, properties,
/// <c>TryParse</c> and <c>BindAsync</c> methods), which trimming may remove, and a response is serialized by its
/// run-time type: in a trimmed or native AOT application use output caching (<c>AddCacheFlowOutputCacheStore</c>) or
/// <see cref="ICacheFlow"/> in the handler instead.
/// </remarks>
public static class CacheFlowEndpointConventionBuilderExtensions
{
    /// <summary>
    /// Caches the endpoint's 200 responses in CacheFlow under <c>{family}:{name}={value}:…</c>, built from the
    /// handler's bound route and query values, and reports the outcome in <c>X-Cache</c>. A handler that binds
    /// anything else the key would not cover (a header, the user, <c>HttpContext</c>, a body) is refused when the
    /// endpoint is built; use the overload that declares what the key varies by.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint builder type.</typeparam>
    /// <param name="builder">The endpoint.</param>
    /// <param name="family">The key family, such as <c>users:list</c>.</param>
    /// <param name="options">How responses are cached: freshness, stale window, tags.</param>
    /// <returns>The builder, for chaining.</returns>
    [RequiresUnreferencedCode(CacheResponseKeyAnalysis.Reflection)]
    [RequiresDynamicCode(CacheResponseKeyAnalysis.Reflection)]
    public static TBuilder CacheResponse<TBuilder>(this TBuilder builder, string family, CacheEntryOptions options)
        where TBuilder : IEndpointConventionBuilder
        => builder.CacheResponse(family, options, _ => { });

    /// <summary>
    /// Caches the endpoint's 200 responses in CacheFlow under a key that varies by the handler's bound route and
    /// query values and by what <paramref name="vary"/> declares (headers, the user), and reports the outcome in
    /// <c>X-Cache</c>. When the endpoint is built (at host start with
    /// <c>AddCacheResponseValidation</c>, otherwise at the first request), a handler that binds anything the key
    /// does not cover throws an <see cref="InvalidOperationException"/> naming the endpoint and the parameter.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint builder type.</typeparam>
    /// <param name="builder">The endpoint.</param>
    /// <param name="family">The key family, such as <c>users:me</c>.</param>
    /// <param name="options">How responses are cached: freshness, stale window, tags.</param>
    /// <param name="vary">Declares what else the key varies by, such as <c>vary =&gt; vary.ByHeader("Accept-Language").ByUser()</c>.</param>
    /// <returns>The builder, for chaining.</returns>
    [RequiresUnreferencedCode(CacheResponseKeyAnalysis.Reflection)]
    [RequiresDynamicCode(CacheResponseKeyAnalysis.Reflection)]
    public static TBuilder CacheResponse<TBuilder>(this TBuilder builder, string family, CacheEntryOptions options, Action<CacheResponseVary> vary)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentException.ThrowIfNullOrEmpty(family);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(vary);
        var declared = new CacheResponseVary();
        vary(declared);
        // A convention rather than AddEndpointFilterFactory, so the filter can name the endpoint when it refuses it.
        builder.Add(endpoint => endpoint.FilterFactories.Add((context, next) =>
            CacheResponseEndpointFilter.Create(context, next, Describe(endpoint), family, options, declared)));
        return builder;
    }

    private static string Describe(EndpointBuilder endpoint) =>
        endpoint.DisplayName ?? (endpoint as RouteEndpointBuilder)?.RoutePattern.RawText ?? "(unnamed)";
}
