namespace CacheFlow.Api.Http;

/// <summary>
/// Our words for the problems the framework writes without a detail (a status code page: a wrong content type, a
/// body Kestrel stopped at the limit, a path or method nobody answers). A problem that already has a detail is left
/// as it is.
/// </summary>
internal static class ProblemDefaults
{
    public static void Customize(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        if (problem.Detail is not null)
            return;
        (problem.Title, problem.Detail) = problem.Status switch
        {
            StatusCodes.Status404NotFound => ("Not found", "Nothing is served at this path."),
            StatusCodes.Status405MethodNotAllowed => ("Method not allowed", $"This path does not answer {ErrorText.Truncate(context.HttpContext.Request.Method)}."),
            StatusCodes.Status413PayloadTooLarge => ("Body too large", $"The request body is larger than {RequestRules.MaxRequestBodySize} bytes."),
            StatusCodes.Status415UnsupportedMediaType => ("Unsupported media type", BadRequestExceptionHandler.NotJson),
            _ => (problem.Title, problem.Detail),
        };
    }
}
