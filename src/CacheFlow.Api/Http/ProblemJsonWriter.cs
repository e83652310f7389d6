using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace CacheFlow.Api.Http;

/// <summary>
/// Writes a problem as <c>application/problem+json</c> whatever the request's <c>Accept</c> says. The framework's
/// writer declines a request that accepts neither JSON type (<c>Accept: application/xml</c>), and the error then went
/// out with its status and an empty body; every error of this API is a problem. Registered after the framework's
/// writer, so it only writes what that one declines.
/// </summary>
internal sealed class ProblemJsonWriter(IOptions<JsonOptions> json, IOptions<ProblemDetailsOptions> problems) : IProblemDetailsWriter
{
    public const string ContentType = "application/problem+json";

    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        var response = context.HttpContext.Response;
        problem.Status ??= response.StatusCode;
        problems.Value.CustomizeProblemDetails?.Invoke(context);
        problem.Title ??= ReasonPhrases.GetReasonPhrase(problem.Status.Value);
        var typeInfo = json.Value.SerializerOptions.GetTypeInfo(problem.GetType());
        return new(response.WriteAsJsonAsync(problem, typeInfo, ContentType, context.HttpContext.RequestAborted));
    }
}
