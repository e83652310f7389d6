using CacheFlow;
using CacheFlow.Api.CacheAdmin;
using CacheFlow.Api.Data;
using CacheFlow.Api.Hosting;
using CacheFlow.Api.Observability;
using CacheFlow.Api.Redis;
using CacheFlow.Api.Users;
using CacheFlow.Api.Warming;
using CacheFlow.Api.WriteBehind;
using CacheFlow.WriteBehind;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using StackExchange.Redis;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Wires the Users API: storage, Redis, the cache, JSON, errors, health, OpenAPI, endpoints.</summary>
public static class CacheFlowApiExtensions
{
    /// <summary>The largest request body accepted: 64 KiB.</summary>
    public const int MaxRequestBodySize = 64 * 1024;

    /// <summary>Registers the API's services on embedded defaults or the configured servers.</summary>
    public static WebApplicationBuilder AddCacheFlowApi(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.AddOptions<StorageOptions>().BindConfiguration("Storage").ValidateDataAnnotations().ValidateOnStart();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = MaxRequestBodySize);

        services.AddSingleton(_ => RedisEndpoint.Create(configuration.GetConnectionString("Redis")));
        services.AddSingleton<IConnectionMultiplexer>(sp => sp.GetRequiredService<RedisEndpoint>().Connect());
        // Durable data on ConnectionStrings:DurableRedis, an embedded Garnet of its own beside an embedded cache, or
        // the same Redis; checked before the storage starts.
        services.AddDurableRedis(configuration, DataDirectory);
        services.AddOptions<DatabaseOptions>().BindConfiguration("Database").ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IUserRepository>(sp =>
        {
            var timeout = sp.GetRequiredService<IOptions<DatabaseOptions>>().Value.Timeout;
            return configuration.GetConnectionString("Users") is { Length: > 0 } users
                ? new PostgresUserRepository(users, TimeProvider.System, timeout)
                : new SqliteUserRepository(Path.Combine(Directory.CreateDirectory(DataDirectory(sp)).FullName, "users.db"), TimeProvider.System, timeout);
        });
        // Background work reports its failures in one place and never stops the host; the backstop is for any that escapes.
        services.AddSingleton<BackgroundFailures>();
        services.Configure<HostOptions>(host => host.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.Ignore);
        services.AddHostedService<StorageInitializer>();
        // After the storage is ready and before requests: changes a crashed instance recorded are applied (or kept pending).
        services.AddOptions<OutboxOptions>().BindConfiguration("Outbox").ValidateDataAnnotations().ValidateOnStart();
        services.AddHostedService<UserInvalidationRelay>();

        // Write-behind: a durable queue in Redis, a flusher per instance, login counts coalesced.
        services.AddOptions<WriteBehindOptions>().BindConfiguration("WriteBehind").ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<LoginOptions>().BindConfiguration("Logins").ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp => new WriteBehindQueue(
            sp.GetRequiredService<DurableRedis>().Connection, sp.GetRequiredService<IOptions<CacheFlowOptions>>().Value.DurableKeyPrefix, "users",
            sp.GetRequiredService<IOptions<WriteBehindOptions>>().Value, TimeProvider.System, sp.GetService<System.Diagnostics.Metrics.IMeterFactory>(),
            sp.GetRequiredService<DurableRedis>().Guard));
        services.AddSingleton<LoginCounter>();
        services.AddSingleton<UserReader>();
        services.AddSingleton<ListInvalidation>();
        services.AddHostedService<WriteBehindFlusher>();

        services.AddOptions<WarmingOptions>().BindConfiguration("Warming").ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<CacheWarmer>();
        services.AddHostedService<StartupWarming>();
        services.AddSingleton<AdminKey>();

        // Observability: the CacheFlow meter and ASP.NET Core's own, exported for Prometheus at /metrics.
        services.AddSingleton<OutcomeLatency>();
        services.AddOptions<DemoLoadOptions>().BindConfiguration("DemoLoad").ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<DemoLoad>();
        services.AddHostedService(sp => sp.GetRequiredService<DemoLoad>());
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(CacheFlowMeter.Name, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel")
            .AddPrometheusExporter());

        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
            // Names as the contract spells them: "Username" or "EMAIL" is not a field of ours (the web defaults match any case).
            json.SerializerOptions.PropertyNameCaseInsensitive = false;
            // A field given twice is refused: a proxy or validator that reads the first would see another request.
            json.SerializerOptions.AllowDuplicateProperties = false;
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
        });
        services.AddCacheFlow(configuration.GetSection("CacheFlow"));
        // A .CacheResponse endpoint whose key cannot cover its handler fails the start, not the first request.
        services.AddCacheResponseValidation();
        // The cache serializes with the HTTP options, so a cached value is the response body as it is.
        services.AddOptions<CacheFlowOptions>().Configure<IOptions<JsonOptions>>((cache, json) => cache.SerializerOptions = json.Value.SerializerOptions);
        // The embedded Garnet runs in this process: an answer slower than a second means a busy CPU, not a lost
        // server, and bypassing the cache then only moves the load to the database. Unless the timeout is configured,
        // it is the durable data's (5 s) there, so a fresh start on a busy machine still answers MISS, then HIT.
        if (configuration["CacheFlow:RedisTimeout"] is null)
        {
            services.AddOptions<CacheFlowOptions>().PostConfigure<RedisEndpoint>((cache, redis) =>
            {
                if (redis.Embedded is not null)
                    cache.RedisTimeout = cache.DurableRedisTimeout;
            });
        }

        services.AddProblemDetails(options => options.CustomizeProblemDetails = ProblemDefaults.Customize);
        // After the framework's writer: a client that accepts no JSON still gets its problem as JSON, not an empty body.
        services.AddSingleton<IProblemDetailsWriter, ProblemJsonWriter>();
        services.AddCacheFlowRateLimits();
        services.AddExceptionHandler<BadRequestExceptionHandler>();
        services.AddExceptionHandler<DatabaseUnavailableExceptionHandler>();
        // Bad input raises BadHttpRequestException in every environment, so the handler above answers it the same way.
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.AddHealthChecks()
            .AddCacheFlow("redis", tags: ["ready"])
            .AddCheck<DatabaseHealthCheck>("database", tags: ["ready"])
            .AddCheck<WarmingHealthCheck>("warming", tags: ["ready"])
            .AddCheck<DurableDataHealthCheck>("durable_data", tags: ["ready"])
            .AddCheck<BackgroundHealthCheck>("background", tags: ["ready"]);
        services.AddOpenApi(OpenApiContract.Configure);
        // /users/top and /users/async are paths of their own, never ids: another method on them is a 405.
        services.Configure<RouteOptions>(routes => routes.SetParameterPolicy<UserIdRouteConstraint>(UserIdRouteConstraint.Name));
        return builder;
    }

    /// <summary>Adds the middleware and maps every endpoint.</summary>
    public static WebApplication MapCacheFlowApi(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        var latency = app.Services.GetRequiredService<OutcomeLatency>();
        app.Use(latency.TimeAsync);
        app.Use(RequestRules.LimitBodyAsync);
        app.Use(RequestRules.RequireUtf8Async);
        // HEAD is routed as GET, so routing comes after it.
        app.Use(RequestRules.HeadAsGetAsync);
        app.UseRouting();

        app.UseRateLimiter();

        app.MapOpenApi();
        app.UseSwaggerUI(ui =>
        {
            ui.RoutePrefix = "docs";
            ui.SwaggerEndpoint("/openapi/v1.json", "CacheFlow Users API");
        });
        // The dashboard: wwwroot/index.html at /, its script and uPlot (committed, so it works offline).
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.MapPrometheusScrapingEndpoint();
        app.MapHealthChecks("/health/live", new() { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new() { Predicate = check => check.Tags.Contains("ready"), ResponseWriter = HealthReportWriter.WriteAsync });

        app.MapUsersApi();
        app.MapCacheStatsApi();
        app.MapCacheAdminApi();
        // Made now, so a generated admin key is logged at start rather than at the first admin call.
        app.Services.GetRequiredService<AdminKey>();
        return app;
    }

    private static string DataDirectory(IServiceProvider services) =>
        Path.GetFullPath(services.GetRequiredService<IOptions<StorageOptions>>().Value.DataDirectory,
            services.GetRequiredService<IHostEnvironment>().ContentRootPath);
}
