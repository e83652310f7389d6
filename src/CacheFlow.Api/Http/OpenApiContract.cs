using System.Reflection;
using System.Text.Json.Nodes;
using CacheFlow.Api.CacheAdmin;
using CacheFlow.Api.Users;
using CacheFlow.AspNetCore;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace CacheFlow.Api.Http;

/// <summary>
/// Makes <c>/openapi/v1.json</c> say what the server does, so a validating client can trust it: every status an
/// operation answers (errors as problem+json), the response headers, the admin key as a security scheme, operation
/// ids, the input rules of request bodies and query parameters, and a relative server (never the caller's Host).
/// The contract tests replay the README's examples and bad inputs against it; CI lints it with Redocly.
/// </summary>
internal static partial class OpenApiContract
{
    public const string ProblemSchema = "ProblemDetails";
    public const string ApiKeyScheme = "ApiKey";

    /// <summary>The operations whose writes can clash with another user's username or email (409).</summary>
    private static readonly HashSet<string> Conflicting = ["createUser", "updateUser", "createUserBehind"];

    /// <summary>The operations that reach neither the database nor Redis in a way that fails, so never answer 503.</summary>
    private static readonly HashSet<string> NeverUnavailable = ["getStats", "resetStats", "startDemoLoad", "stopDemoLoad"];

    private static readonly Dictionary<string, string> TagDescriptions = new()
    {
        ["Users"] = "Users: cache-aside reads, write-through creates, invalidating changes, write-behind creates and logins.",
        ["Cache"] = "What the cache did: counters, latency by outcome, Redis and write-behind figures.",
        ["Cache admin"] = "Warming, invalidation, dead letters and the demo load; each needs the admin key.",
    };

    public static void Configure(OpenApiOptions options)
    {
        options.AddDocumentTransformer(TransformDocument);
        options.AddOperationTransformer(TransformOperation);
        options.AddSchemaTransformer(TransformSchema);
    }

    private static Task TransformDocument(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info = new OpenApiInfo
        {
            Title = "CacheFlow Users API",
            Version = "v1",
            Description = "A Users API behind a two-level cache (in-process and Redis). JSON is snake_case; every error is "
                + "application/problem+json. Admin operations need the X-Api-Key header.",
        };
        // Relative: the document is right wherever it is served from, and never repeats a caller's Host header.
        document.Servers = [new OpenApiServer { Url = "/", Description = "The server this document is served from." }];
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        document.Components.Schemas[ProblemSchema] = Problem();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[ApiKeyScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = AdminKey.Header,
            Description = "The admin key (configuration Admin:ApiKey; logged at start when none is configured).",
        };
        foreach (var tag in document.Tags ?? new HashSet<OpenApiTag>())
            tag.Description ??= TagDescriptions.GetValueOrDefault(tag.Name ?? "");
        // Every error points at ProblemDetails (with its optional errors), so the framework's own schema is unused.
        document.Components.Schemas.Remove("HttpValidationProblemDetails");
        // Anonymous unless an operation says otherwise (the admin operations do).
        document.Security = [new OpenApiSecurityRequirement()];
        return Task.CompletedTask;
    }

    private static OpenApiSchema Problem() => new()
    {
        Type = JsonSchemaType.Object,
        Description = "An RFC 9457 problem. Validation errors add `errors` (messages by field); a clash adds `field`; a page past the last adds `pages`.",
        Required = new HashSet<string> { "title", "status" },
        Properties = new Dictionary<string, IOpenApiSchema>
        {
            ["type"] = new OpenApiSchema { Type = JsonSchemaType.String },
            ["title"] = new OpenApiSchema { Type = JsonSchemaType.String },
            ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32" },
            ["detail"] = new OpenApiSchema { Type = JsonSchemaType.String },
            ["instance"] = new OpenApiSchema { Type = JsonSchemaType.String },
            ["errors"] = new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String } },
            },
            ["field"] = new OpenApiSchema { Type = JsonSchemaType.String },
            ["pages"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Description = "On a page past the last: how many pages there are." },
        },
    };

    private static Task TransformOperation(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var description = context.Description;
        var metadata = description.ActionDescriptor.EndpointMetadata;
        var id = OperationId(metadata, description.HttpMethod ?? "GET", description.RelativePath ?? "");
        operation.OperationId = id;
        operation.Responses ??= [];

        var routeValues = description.ParameterDescriptions.Where(p => p.Source.Id == "Path").Select(p => p.Name).ToHashSet();
        var hasBody = description.ParameterDescriptions.Any(p => p.Source.Id == "Body");
        if (routeValues.Contains("id"))
        {
            AddProblem(operation, context.Document, StatusCodes.Status400BadRequest, "The id is not a canonical positive integer, or the input breaks a rule; a NUL (%00) in the path is refused by the server before the API, without a body.");
            AddProblem(operation, context.Document, StatusCodes.Status404NotFound, "There is no such user.");
        }

        if (routeValues.Contains("requestId"))
            AddProblem(operation, context.Document, StatusCodes.Status404NotFound, "There is no such queued write.");
        // Kestrel refuses a NUL (%00) in the path before the API sees it: a 400 without a body, whatever the operation.
        if (routeValues.Count > 0)
            AddProblem(operation, context.Document, StatusCodes.Status400BadRequest, "The path holds a NUL (%00): refused by the server before the API, without a body.");
        if (hasBody)
        {
            AddProblem(operation, context.Document, StatusCodes.Status400BadRequest, "The body is not valid JSON, or a field breaks a rule (errors by field).");
            AddProblem(operation, context.Document, StatusCodes.Status413PayloadTooLarge, $"The body is larger than {RequestRules.MaxRequestBodySize} bytes.");
            AddProblem(operation, context.Document, StatusCodes.Status415UnsupportedMediaType,
                "The body is not application/json in UTF-8: the charset, if given, must be utf-8 or utf8 (any case, quoted or not); an empty or any other charset is refused.");
        }

        if (operation.Parameters?.Any(p => p.In == ParameterLocation.Query) == true)
            AddProblem(operation, context.Document, StatusCodes.Status400BadRequest, "A query parameter is out of its range or not a number.");
        if (id == "listUsers")
            AddProblem(operation, context.Document, StatusCodes.Status404NotFound, "The page is past the last one (pages says how many there are); not cached.");
        if (id == "createUserBehind")
        {
            AddProblem(operation, context.Document, StatusCodes.Status422UnprocessableEntity,
                "Redis could not queue the write, so it was applied at once, and the database refused a value.");
        }

        if (Conflicting.Contains(id))
            AddProblem(operation, context.Document, StatusCodes.Status409Conflict, "Another user has this username or email (field says which).");
        if (metadata.OfType<AdminKeyRequired>().Any())
        {
            var unauthorized = AddProblem(operation, context.Document, StatusCodes.Status401Unauthorized, "The X-Api-Key header is missing or wrong.");
            unauthorized.Headers!["WWW-Authenticate"] = Header($"The challenge: {AdminKeyFilter.Challenge}.", required: true);
            operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeyScheme, context.Document)] = [] }];
        }

        var globalLimiter = context.ApplicationServices.GetService<IOptions<RateLimiterOptions>>()?.Value.GlobalLimiter is not null;
        if (globalLimiter || metadata.OfType<EnableRateLimitingAttribute>().Any())
        {
            var limited = AddProblem(operation, context.Document, StatusCodes.Status429TooManyRequests, "Too many requests from this client just now.");
            limited.Headers!["Retry-After"] = Header("Seconds to wait before trying again.", required: false, integer: true);
        }

        if (!NeverUnavailable.Contains(id))
        {
            var unavailable = AddProblem(operation, context.Document, StatusCodes.Status503ServiceUnavailable,
                "The database or Redis cannot be reached just now; cached users are still served.");
            unavailable.Headers!["Retry-After"] = Header("Seconds to wait before trying again (sent when the database is down).", required: false, integer: true);
        }

        DescribeSuccessHeaders(operation, id);
        ConstrainParameters(operation, id);
        return Task.CompletedTask;
    }

    /// <summary>The handler's name in camelCase (<c>GetUser</c> → <c>getUser</c>), or one made of the method and path for a lambda.</summary>
    private static string OperationId(IList<object> metadata, string method, string path)
    {
        if (metadata.OfType<IEndpointNameMetadata>().LastOrDefault() is { } name)
            return name.EndpointName;
        if (metadata.OfType<MethodInfo>().LastOrDefault() is { } handler && !handler.Name.Contains('<', StringComparison.Ordinal))
            return char.ToLowerInvariant(handler.Name[0]) + handler.Name[1..];
        var words = path.Split('/', '-').Where(w => w.Length > 0 && !w.StartsWith('{')).Select(w => char.ToUpperInvariant(w[0]) + w[1..]);
        return method.ToLowerInvariant() + string.Concat(words);
    }

    private static OpenApiResponse AddProblem(OpenApiOperation operation, OpenApiDocument? document, int status, string description)
    {
        var key = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (operation.Responses!.TryGetValue(key, out var existing) && existing is OpenApiResponse known)
        {
            // A ValidationProblem's 400: the same problem schema as every other error (it has the optional errors).
            known.Headers ??= new Dictionary<string, IOpenApiHeader>();
            known.Content = ProblemContent(document);
            return known;
        }

        var response = new OpenApiResponse
        {
            Description = description,
            Headers = new Dictionary<string, IOpenApiHeader>(),
            Content = ProblemContent(document),
        };
        operation.Responses[key] = response;
        return response;
    }

    private static Dictionary<string, OpenApiMediaType> ProblemContent(OpenApiDocument? document) => new()
    {
        ["application/problem+json"] = new() { Schema = new OpenApiSchemaReference(ProblemSchema, document) },
    };

    private static OpenApiHeader Header(string description, bool required, bool integer = false) => new()
    {
        Description = description,
        Required = required,
        Schema = new OpenApiSchema { Type = integer ? JsonSchemaType.Integer : JsonSchemaType.String },
    };

    private static void DescribeSuccessHeaders(OpenApiOperation operation, string id)
    {
        foreach (var (status, response) in operation.Responses!)
        {
            if (response is not OpenApiResponse described)
                continue;
            described.Headers ??= new Dictionary<string, IOpenApiHeader>();
            if (status is "201" or "202")
                described.Headers["Location"] = Header(status == "201" ? "The new user's URL." : "Where to ask how the write stands.", required: true);
            var cached = id is "getUser" or "listUsers" && status is "200" || id == "getUser" && status == "404";
            if (cached)
            {
                described.Headers[CacheHeaders.XCache] = CacheOutcomeHeader();
                if (status == "200")
                {
                    described.Headers[CacheHeaders.XCacheLevel] = new OpenApiHeader
                    {
                        Description = "On a hit, which level answered: L1 (in-process) or L2 (Redis).",
                        Schema = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [JsonValue.Create("L1"), JsonValue.Create("L2")] },
                    };
                }
            }
        }
    }

    private static OpenApiHeader CacheOutcomeHeader() => new()
    {
        Description = "How the cache answered.",
        Required = true,
        Schema = new OpenApiSchema
        {
            Type = JsonSchemaType.String,
            Enum = [JsonValue.Create("HIT"), JsonValue.Create("MISS"), JsonValue.Create("STALE"), JsonValue.Create("BYPASS")],
        },
    };
}
