using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;

namespace CacheFlow.AspNetCore;

/// <summary>
/// Writes a <see cref="CacheResult"/> as a 200 JSON response with an <c>X-Cache</c> header. The JSON is the cached
/// bytes as they are: a hit is never deserialized and serialized again.
/// </summary>
/// <typeparam name="T">The type the JSON holds, for the OpenAPI document.</typeparam>
/// <param name="result">The cache result; its JSON is the response body.</param>
public sealed class CachedJsonResult<T>(CacheResult result) : IResult, IStatusCodeHttpResult, IEndpointMetadataProvider
{
    /// <summary>The cache result this response writes.</summary>
    public CacheResult Result { get; } = result;

    /// <inheritdoc />
    public int? StatusCode => StatusCodes.Status200OK;

    /// <inheritdoc />
    public Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.Headers[CacheHeaders.XCache] = CacheHeaders.Value(Result.Outcome);
        if (Result.Outcome == CacheOutcome.Hit)
            response.Headers[CacheHeaders.XCacheLevel] = Result.FromLocal ? "L1" : "L2";
        response.ContentType = "application/json; charset=utf-8";
        response.ContentLength = Result.Json.Length;
        return response.BodyWriter.WriteAsync(Result.Json, httpContext.RequestAborted).AsTask();
    }

    /// <inheritdoc />
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(T), ["application/json"]));
    }
}
