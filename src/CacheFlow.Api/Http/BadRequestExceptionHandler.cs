using System.Text.Json;
using System.Text.RegularExpressions;
using CacheFlow.Api.Users;
using Microsoft.AspNetCore.Diagnostics;

namespace CacheFlow.Api.Http;

/// <summary>
/// Turns the framework's bad-request errors (an unparsable id, malformed JSON, a wrong content type, a body over
/// the limit) into a problem+json answer with their own 4xx status instead of a 500, in our words: which parameter
/// and what it expects, never a C# type, and at most <see cref="ErrorText.MaxEcho"/> characters of the input.
/// Logged at Debug only (without the exception): a bad request is the client's, and anyone can send one.
/// </summary>
internal sealed partial class BadRequestExceptionHandler(IProblemDetailsService problemDetails, ILogger<BadRequestExceptionHandler> logger)
    : IExceptionHandler
{
    /// <summary>The detail of a 415 for a body that is not JSON.</summary>
    public const string NotJson = "The body must be JSON: send Content-Type: application/json (charset UTF-8).";

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException badRequest)
            return false;
        var (title, detail) = Describe(badRequest);
        Log.BadRequest(logger, httpContext.Request.Method, httpContext.Request.Path, badRequest.StatusCode, detail);
        httpContext.Response.StatusCode = badRequest.StatusCode;
        var problem = new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = { Status = badRequest.StatusCode, Title = title, Detail = detail },
        };
        if (badRequest.InnerException is JsonException { Path: { } path } && BodyField(path) is { } field)
            problem.ProblemDetails.Extensions["field"] = ErrorText.Truncate(field);
        return await problemDetails.TryWriteAsync(problem);
    }

    /// <summary>Our title and detail for a framework error (whose own message names C# types and echoes the input).</summary>
    internal static (string Title, string Detail) Describe(BadHttpRequestException exception)
    {
        var message = exception.Message;
        switch (exception.StatusCode)
        {
            case StatusCodes.Status413PayloadTooLarge:
                return ("Body too large", $"The request body is larger than {RequestRules.MaxRequestBodySize} bytes.");
            case StatusCodes.Status415UnsupportedMediaType:
                return ("Unsupported media type", message.StartsWith("Bodies are JSON", StringComparison.Ordinal)
                    ? message
                    : NotJson);
            case StatusCodes.Status400BadRequest:
                break;
            default:
                return ("Bad request", "The request is not valid.");
        }

        if (exception.InnerException is JsonException { Path: { } path } body && BodyField(path) is { } named)
        {
            var field = ErrorText.Truncate(named);
            // The serializer's words for these two, which name the C# type: ours name the field and what to do.
            if (body is NullFieldException)
                return ("Null field", $"{field} is null: give it a value of its type, or leave it out.");
            if (body.Message.StartsWith("Duplicate property", StringComparison.Ordinal))
                return ("Duplicate field", $"{field} is given more than once: give each field once.");
            if (body.Message.Contains("could not be mapped", StringComparison.Ordinal))
                return ("Unknown field", $"{field} is not a field of this body (names are case-sensitive): the fields are username, email and is_active.");
        }

        if (exception.InnerException is JsonException json)
        {
            var at = string.IsNullOrEmpty(json.Path) ? "" : $" (at {ErrorText.Truncate(json.Path)})";
            return ("Invalid JSON body", $"The body is not valid JSON for this operation{at}: a JSON object with the documented fields and types is expected.");
        }

        if (message.Contains("request body", StringComparison.Ordinal) || message.Contains("from body", StringComparison.Ordinal)
            || message.Contains("no body was provided", StringComparison.Ordinal))
        {
            return ("Body required", "A JSON object body is required.");
        }

        if (BindFailure().Match(message) is { Success: true } failed)
        {
            var name = failed.Groups["name"].Value;
            var value = ErrorText.Truncate(failed.Groups["value"].Value);
            return ($"Invalid {name}", $"{name} must be {Expected(name, failed.Groups["type"].Value)}; \"{value}\" is not.");
        }

        if (MissingParameter().Match(message) is { Success: true } missing)
            return ($"Missing {missing.Groups["name"].Value}", $"{missing.Groups["name"].Value} is required.");
        return ("Bad request", "The request is not valid.");
    }

    /// <summary>
    /// The top-level field a body error is at (<c>$.is_active</c>, <c>$['odd name']</c>), or null for the body itself
    /// or a place inside a field.
    /// </summary>
    internal static string? BodyField(string path) => path switch
    {
        ['$', '.', .. var name] when !name.Contains('.', StringComparison.Ordinal) && !name.Contains('[', StringComparison.Ordinal) => name,
        ['$', '[', '\'', .. var quoted, '\'', ']'] when !quoted.Contains("']", StringComparison.Ordinal) => quoted,
        _ => null,
    };

    private static string Expected(string name, string type) => name switch
    {
        "id" => UserIds.Expected,
        _ when type is "int" or "long" or "int?" or "long?" => "an integer",
        _ when type is "bool" or "bool?" => "true or false",
        _ => "valid",
    };

    // The framework's words, as RequestDelegateFactory writes them: 'Failed to bind parameter "long id" from "abc".'
    [GeneratedRegex("""^Failed to bind parameter "(?<type>\S+) (?<name>[^"]+)" from "(?<value>.*)"\.$""", RegexOptions.Singleline)]
    private static partial Regex BindFailure();

    // 'Required parameter "int page" was not provided from query string.'
    [GeneratedRegex("""^Required parameter "\S+ (?<name>[^"]+)" was not provided""")]
    private static partial Regex MissingParameter();
}
