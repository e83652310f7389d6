using CacheFlow.Api.CacheAdmin;
using CacheFlow.Api.Observability;
using CacheFlow.Api.Users;
using CacheFlow.Api.Warming;
using CacheFlow.Api.WriteBehind;

namespace Microsoft.AspNetCore.Builder;

/// <summary>
/// Wires the Users API: storage, Redis, the cache, JSON, errors, health, OpenAPI, endpoints. This file is the order of
/// things; each concern registers itself in a partial beside it (<c>CacheFlowApiExtensions.Storage.cs</c>, <c>.Cache.cs</c>,
/// <c>.Http.cs</c>, <c>.Health.cs</c>, <c>.Observability.cs</c>).
/// </summary>
public static partial class CacheFlowApiExtensions
{
    /// <summary>Registers the API's services on embedded defaults or the configured servers.</summary>
    public static WebApplicationBuilder AddCacheFlowApi(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        // Hosted services start in the order they are added: the storage, the outbox relay, the write-behind flusher,
        // warming, then the demo load.
        AddStorage(builder);
        AddBackgroundWork(services);

        // Write-behind: a durable queue in Redis, a flusher per instance, login counts coalesced.
        services.AddWriteBehind();
        services.AddSingleton<UserReader>();
        services.AddSingleton<ListInvalidation>();

        services.AddOptions<WarmingOptions>().BindConfiguration("Warming").ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<CacheWarmer>();
        services.AddHostedService<StartupWarming>();
        services.AddSingleton<AdminKey>();

        AddObservability(services);
        AddCache(services, builder.Configuration);
        AddHttpContract(builder);
        AddHealth(services);
        return builder;
    }

    /// <summary>Adds the middleware and maps every endpoint.</summary>
    public static WebApplication MapCacheFlowApi(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.Use(app.Services.GetRequiredService<OutcomeLatency>().TimeAsync);
        UseRequestRules(app);
        app.UseRouting();

        app.UseRateLimiter();

        MapDocs(app);
        // The dashboard: wwwroot/index.html at /, its script and uPlot (committed, so it works offline).
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.MapPrometheusScrapingEndpoint();
        MapHealth(app);

        // Each endpoint with an {id} refuses an id that is not a canonical positive integer (CanonicalIdFilter).
        app.MapUsersApi();
        app.MapWriteBehindApi();
        app.MapCacheStatsApi();
        app.MapCacheAdminApi();
        // Made now, so a generated admin key is logged at start rather than at the first admin call.
        app.Services.GetRequiredService<AdminKey>();
        return app;
    }
}
