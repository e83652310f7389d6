using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CacheFlow.AspNetCore;

/// <summary>
/// Caches what a minimal-API handler returns, under the key <see cref="CacheResponseKeyAnalysis"/> built for the
/// handler when the endpoint was built (<c>users:list:page=1:limit=20</c>), so defaults and query order do not split
/// the cache. Only a 200 result with a value is cached; anything else (a validation problem, say) passes through
/// uncached. A request that cannot be keyed safely runs the handler uncached, with <c>X-Cache: BYPASS</c>.
/// </summary>
internal static class CacheResponseEndpointFilter
{
    /// <exception cref="InvalidOperationException">The handler binds something the declared key does not cover.</exception>
    [RequiresUnreferencedCode(CacheResponseKeyAnalysis.Reflection)]
    [RequiresDynamicCode(CacheResponseKeyAnalysis.Reflection)]
    public static EndpointFilterDelegate Create(
        EndpointFilterFactoryContext factoryContext, EndpointFilterDelegate next, string endpoint, string family, CacheEntryOptions options, CacheResponseVary vary)
    {
        var key = CacheResponseKeyAnalysis.Analyze(endpoint, family, factoryContext.MethodInfo, vary, factoryContext.ApplicationServices);
        var logger = factoryContext.ApplicationServices.GetService<ILoggerFactory>()?.CreateLogger(typeof(CacheResponseEndpointFilter).FullName!)
            ?? NullLogger.Instance;

        return async context =>
        {
            if (key.Build(context) is not { } cacheKey)
            {
                Log.UnidentifiedUser(logger, family);
                context.HttpContext.Response.Headers[CacheHeaders.XCache] = CacheHeaders.Value(CacheOutcome.Bypass);
                return await next(context).ConfigureAwait(false);
            }

            var services = context.HttpContext.RequestServices;
            var cache = services.GetRequiredService<ICacheFlow>();
            var serializer = services.GetRequiredService<IOptions<CacheFlowOptions>>().Value.SerializerOptions;
            object? uncached = null;
            var result = await cache.GetOrCreateRawAsync(cacheKey, async _ =>
            {
                var handlerResult = await next(context).ConfigureAwait(false);
                if (OkValue(handlerResult) is { } value)
                    return JsonSerializer.SerializeToUtf8Bytes(value, value.GetType(), serializer);
                uncached = handlerResult;
                return null;
            }, options, context.HttpContext.RequestAborted).ConfigureAwait(false);

            return uncached ?? new CachedJsonResult<object>(result);
        };
    }

    private static object? OkValue(object? result)
    {
        while (result is INestedHttpResult nested)
            result = nested.Result;
        return result switch
        {
            IValueHttpResult valueResult and IStatusCodeHttpResult { StatusCode: StatusCodes.Status200OK } => valueResult.Value,
            IResult => null,
            _ => result,
        };
    }
}
