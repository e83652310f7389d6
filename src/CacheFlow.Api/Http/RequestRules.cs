using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace CacheFlow.Api.Http;

/// <summary>
/// Middleware that holds every request to the API's rules before an endpoint sees it: a body of at most
/// <see cref="MaxRequestBodySize"/> bytes, in UTF-8 (JSON is UTF-8, RFC 8259); and a HEAD
/// wherever there is a GET.
/// </summary>
internal static class RequestRules
{
    /// <summary>The largest request body accepted: 64 KiB.</summary>
    public const int MaxRequestBodySize = 64 * 1024;

    /// <summary>413 for a body announced larger than the limit (Kestrel stops a longer one as it is read).</summary>
    public static Task LimitBodyAsync(HttpContext context, RequestDelegate next) =>
        context.Request.ContentLength > MaxRequestBodySize
            ? throw new BadHttpRequestException(
                $"The request body is larger than {MaxRequestBodySize} bytes.", StatusCodes.Status413PayloadTooLarge)
            : next(context);

    /// <summary>
    /// 415 for a body in any charset but UTF-8, or an empty one: the framework would otherwise fail on an unknown one
    /// (<c>bogus</c>, <c>utf-7</c>) with a 500, and JSON in another known one is not JSON. Every spelling of UTF-8
    /// (<c>utf-8</c>, <c>utf8</c>, quoted or not, any case) is accepted and handed on as <c>charset=utf-8</c>, the one
    /// spelling the framework's reader knows (it looks the name up as given, and fails on <c>utf8</c> or <c>"utf-8"</c>).
    /// </summary>
    public static Task RequireUtf8Async(HttpContext context, RequestDelegate next)
    {
        if (MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var mediaType)
            && mediaType.Parameters.Where(p => p.Name.Equals("charset", StringComparison.OrdinalIgnoreCase)).ToList() is { Count: > 0 } charsets)
        {
            foreach (var charset in charsets)
            {
                var name = (HeaderUtilities.RemoveQuotes(charset.Value).Value ?? "").Trim();
                if (!name.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !name.Equals("utf8", StringComparison.OrdinalIgnoreCase))
                {
                    throw new BadHttpRequestException(name.Length == 0
                        ? "Bodies are JSON in UTF-8; the charset is empty: send charset=utf-8 or none."
                        : $"Bodies are JSON in UTF-8; the charset \"{ErrorText.Truncate(name)}\" is not supported.", StatusCodes.Status415UnsupportedMediaType);
                }

                mediaType.Parameters.Remove(charset);
            }

            mediaType.Charset = "utf-8";
            context.Request.ContentType = mediaType.ToString();
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
