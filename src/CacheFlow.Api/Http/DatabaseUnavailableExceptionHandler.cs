using System.Globalization;
using CacheFlow.Api.Data;
using Microsoft.AspNetCore.Diagnostics;

namespace CacheFlow.Api.Http;

/// <summary>
/// Turns a database outage (as <see cref="DatabaseFailure"/> decides) on any endpoint into a 503 problem+json with
/// Retry-After, in our own words, logged once as a warning with the reason (the exception itself at Debug). Cached
/// users are still served meanwhile; this is the answer for everything that has to reach the database.
/// </summary>
internal sealed class DatabaseUnavailableExceptionHandler(IProblemDetailsService problemDetails, ILogger<DatabaseUnavailableExceptionHandler> logger)
    : IExceptionHandler
{
    /// <summary>The seconds a client is told to wait before trying again.</summary>
    public const int RetryAfterSeconds = 5;

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (!DatabaseFailure.IsUnavailable(exception))
            return false;
        // A budget that ran out says so itself; below it is only the client's "operation cancelled".
        var reason = exception is DatabaseTimeoutException ? exception.Message : exception.GetBaseException().Message;
        Log.DatabaseUnavailable(logger, reason, httpContext.Request.Method, httpContext.Request.Path);
        Log.DatabaseUnavailableDetail(logger, exception);
        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails =
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "Database unavailable",
                Detail = "The users database cannot be reached or did not answer in time just now, so this request could not be served. "
                    + "Users already in the cache are still served; try again in a few seconds.",
            },
        });
    }
}
