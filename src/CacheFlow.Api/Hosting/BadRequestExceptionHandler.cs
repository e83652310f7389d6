using Microsoft.AspNetCore.Diagnostics;

namespace CacheFlow.Api.Hosting;

/// <summary>
/// Turns the framework's bad-request errors (an unparsable id, malformed JSON, a wrong content type, a body over
/// the limit) into a problem+json answer with their own 4xx status instead of a 500.
/// </summary>
internal sealed class BadRequestExceptionHandler(IProblemDetailsService problemDetails) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException badRequest)
            return false;
        httpContext.Response.StatusCode = badRequest.StatusCode;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = { Status = badRequest.StatusCode, Detail = badRequest.Message },
        });
    }
}
