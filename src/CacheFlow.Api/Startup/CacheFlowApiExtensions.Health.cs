using CacheFlow.Api.Health;
using CacheFlow.Api.Warming;

namespace Microsoft.AspNetCore.Builder;

public static partial class CacheFlowApiExtensions
{
    /// <summary>Background work reports its failures in one place and never stops the host; the backstop is for any that escapes.</summary>
    private static void AddBackgroundWork(IServiceCollection services)
    {
        services.AddSingleton<BackgroundFailures>();
        services.Configure<HostOptions>(host => host.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.Ignore);
    }

    /// <summary>Readiness: Redis, the database, warming, the durable data's Redis and the background workers.</summary>
    private static void AddHealth(IServiceCollection services) =>
        services.AddHealthChecks()
            .AddCacheFlow("redis", tags: ["ready"])
            .AddCheck<DatabaseHealthCheck>("database", tags: ["ready"])
            .AddCheck<WarmingHealthCheck>("warming", tags: ["ready"])
            .AddCheck<DurableDataHealthCheck>("durable_data", tags: ["ready"])
            .AddCheck<BackgroundHealthCheck>("background", tags: ["ready"]);

    /// <summary><c>/health/live</c> (the process answers) and <c>/health/ready</c> (every check, as JSON).</summary>
    private static void MapHealth(WebApplication app)
    {
        app.MapHealthChecks("/health/live", new() { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new() { Predicate = check => check.Tags.Contains("ready"), ResponseWriter = HealthReportWriter.WriteAsync });
    }
}
