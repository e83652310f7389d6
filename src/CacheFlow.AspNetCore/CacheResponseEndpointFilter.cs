using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CacheFlow.AspNetCore;

/// <summary>
/// Caches what a minimal-API handler returns. The key is the family followed by the handler's bound simple arguments
/// (<c>users:list:page=1:limit=20</c>), so defaults and query order do not split the cache. Only a 200 result
/// with a value is cached; anything else (a validation problem, say) passes through uncached.
/// </summary>
internal static class CacheResponseEndpointFilter
{
    public static EndpointFilterDelegate Create(EndpointFilterFactoryContext factoryContext, EndpointFilterDelegate next, string family, CacheEntryOptions options)
    {
        var keyParts = factoryContext.MethodInfo.GetParameters()
            .Select((parameter, index) => (Parameter: parameter, Index: index))
            .Where(p => IsKeyPart(p.Parameter.ParameterType))
            .Select(p => (p.Parameter.Name!, p.Index))
            .ToArray();

        return async context =>
        {
            var services = context.HttpContext.RequestServices;
            var cache = services.GetRequiredService<ICacheFlow>();
            var serializer = services.GetRequiredService<IOptions<CacheFlowOptions>>().Value.SerializerOptions;
            object? uncached = null;
            var result = await cache.GetOrCreateRawAsync(BuildKey(family, keyParts, context.Arguments), async _ =>
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

    internal static string BuildKey(string family, (string Name, int Index)[] keyParts, IList<object?> arguments)
    {
        var key = new StringBuilder(family);
        foreach (var (name, index) in keyParts)
        {
            var value = Convert.ToString(arguments[index], CultureInfo.InvariantCulture) ?? "";
            key.Append(':').Append(name).Append('=').Append(Uri.EscapeDataString(value));
        }

        return key.ToString();
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

    private static bool IsKeyPart(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal)
            || type == typeof(Guid) || type == typeof(DateOnly) || type == typeof(DateTime) || type == typeof(DateTimeOffset);
    }
}
