using CacheFlow.Api.Http;
using CacheFlow.Api.Users;

namespace Microsoft.AspNetCore.Builder;

public static partial class CacheFlowApiExtensions
{
    /// <summary>The HTTP contract: the request limits, JSON in snake_case, errors as problem+json, rate limits, OpenAPI.</summary>
    private static void AddHttpContract(WebApplicationBuilder builder)
    {
        var services = builder.Services;
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = RequestRules.MaxRequestBodySize);
        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
            // Names as the contract spells them: "Username" or "EMAIL" is not a field of ours (the web defaults match any case).
            json.SerializerOptions.PropertyNameCaseInsensitive = false;
            // A field given twice is refused: a proxy or validator that reads the first would see another request.
            json.SerializerOptions.AllowDuplicateProperties = false;
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
        });

        services.AddProblemDetails(options => options.CustomizeProblemDetails = ProblemDefaults.Customize);
        // After the framework's writer: a client that accepts no JSON still gets its problem as JSON, not an empty body.
        services.AddSingleton<IProblemDetailsWriter, ProblemJsonWriter>();
        services.AddCacheFlowRateLimits();
        services.AddExceptionHandler<BadRequestExceptionHandler>();
        services.AddExceptionHandler<DatabaseUnavailableExceptionHandler>();
        // Bad input raises BadHttpRequestException in every environment, so the handler above answers it the same way.
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.AddOpenApi(OpenApiContract.Configure);
        // /users/top and /users/async are paths of their own, never ids: another method on them is a 405.
        services.Configure<RouteOptions>(routes => routes.SetParameterPolicy<UserIdRouteConstraint>(UserIdRouteConstraint.Name));
    }

    /// <summary>The body limit and UTF-8 before any endpoint reads a body; HEAD wherever there is a GET.</summary>
    private static void UseRequestRules(WebApplication app)
    {
        app.Use(RequestRules.LimitBodyAsync);
        app.Use(RequestRules.RequireUtf8Async);
        // HEAD is routed as GET, so routing comes after it.
        app.Use(RequestRules.HeadAsGetAsync);
    }

    /// <summary>The OpenAPI document at <c>/openapi/v1.json</c> and Swagger UI over it at <c>/docs</c>.</summary>
    private static void MapDocs(WebApplication app)
    {
        app.MapOpenApi();
        app.UseSwaggerUI(ui =>
        {
            ui.RoutePrefix = "docs";
            ui.SwaggerEndpoint("/openapi/v1.json", "CacheFlow Users API");
        });
    }
}
