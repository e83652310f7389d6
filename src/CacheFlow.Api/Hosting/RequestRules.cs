using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace CacheFlow.Api.Hosting;

/// <summary>
/// Middleware that holds every request to the API's rules before an endpoint sees it: a body of at most
/// <see cref="CacheFlowApiExtensions.MaxRequestBodySize"/> bytes, in UTF-8 (JSON is UTF-8, RFC 8259); and a HEAD
/// wherever there is a GET.
/// </summary>
internal static class RequestRules
{
    /// <summary>413 for a body announced larger than the limit (Kestrel stops a longer one as it is read).</summary>
    public static Task LimitBodyAsync(HttpContext context, RequestDelegate next) =>
        context.Request.ContentLength > CacheFlowApiExtensions.MaxRequestBodySize
            ? throw new BadHttpRequestException(
                $"The request body is larger than {CacheFlowApiExtensions.MaxRequestBodySize} bytes.", StatusCodes.Status413PayloadTooLarge)
            : next(context);

    /// <summary>
    /// 415 for a body in any charset but UTF-8: the framework would otherwise fail on an unknown one (<c>bogus</c>,
    /// <c>utf-7</c>) with a 500, and JSON in another known one is not JSON.
    /// </summary>
    public static Task RequireUtf8Async(HttpContext context, RequestDelegate next)
    {
        if (MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var mediaType)
            && HeaderUtilities.RemoveQuotes(mediaType.Charset) is { Length: > 0 } charset
            && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !charset.Equals("utf8", StringComparison.OrdinalIgnoreCase))
        {
            throw new BadHttpRequestException(
                $"Bodies are JSON in UTF-8; the charset \"{ErrorText.Truncate(charset.Value!)}\" is not supported.", StatusCodes.Status415UnsupportedMediaType);
        }

        return next(context);
    }

    /// <summary>
    /// Answers HEAD wherever GET is answered: routed and run as the GET, with the same status and headers and the
    /// body dropped. Runs before routing.
    /// </summary>
    public static async Task HeadAsGetAsync(HttpContext context, RequestDelegate next)
    {
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await next(context);
            return;
        }

        var body = context.Features.Get<IHttpResponseBodyFeature>();
        context.Request.Method = HttpMethods.Get;
        context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(Stream.Null));
        try
        {
            await next(context);
        }
        finally
        {
            context.Request.Method = HttpMethods.Head;
            context.Features.Set(body);
        }
    }
}
