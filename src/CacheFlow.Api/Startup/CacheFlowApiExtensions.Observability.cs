using CacheFlow;
using CacheFlow.Api.Observability;
using OpenTelemetry.Metrics;

namespace Microsoft.AspNetCore.Builder;

public static partial class CacheFlowApiExtensions
{
    /// <summary>The CacheFlow meter and ASP.NET Core's own, exported for Prometheus at /metrics; the demo load.</summary>
    private static void AddObservability(IServiceCollection services)
    {
        services.AddSingleton<OutcomeLatency>();
        services.AddOptions<DemoLoadOptions>().BindConfiguration("DemoLoad").ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<DemoLoad>();
        services.AddHostedService(sp => sp.GetRequiredService<DemoLoad>());
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(CacheFlowMeter.Name, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel")
            .AddPrometheusExporter());
    }
}
