using System.Globalization;
using System.Threading.RateLimiting;
using CacheFlow.Api.Observability;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace CacheFlow.Api.Http;

/// <summary>
/// Per-client limits (ASP.NET Core's rate limiter, partitioned by the client's IP address) on what costs the API:
/// public writes, and the reads that fill the cache (a user, a list page) or ask Redis for its figures (the stats). Over the limit, a 429 problem with
/// <c>Retry-After</c>. The demo load, sent by this process to itself, is not limited.
/// </summary>
public static class RateLimits
{
    /// <summary>The policy of public writes.</summary>
    public const string Writes = "writes";

    /// <summary>The policy of reads that fill the cache or ask Redis for its figures.</summary>
    public const string Reads = "reads";

    /// <summary>Registers the rate limiter and its two policies, configured from the <c>RateLimits</c> section.</summary>
    public static IServiceCollection AddCacheFlowRateLimits(this IServiceCollection services)
    {
        services.AddOptions<RateLimitOptions>().BindConfiguration("RateLimits").ValidateDataAnnotations().ValidateOnStart();
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(Writes, context => Partition(context, options => options.Writes));
            limiter.AddPolicy(Reads, context => Partition(context, options => options.Reads));
            limiter.OnRejected = RejectAsync;
        });
        return services;
    }

    private static RateLimitPartition<string> Partition(HttpContext context, Func<RateLimitOptions, RateLimitRule> rule)
    {
        var options = context.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value;
        if (!options.Enabled || context.RequestServices.GetRequiredService<DemoLoad>().Sent(context.Request))
            return RateLimitPartition.GetNoLimiter("unlimited");
        var limit = rule(options);
        return RateLimitPartition.GetFixedWindowLimiter(context.Connection.RemoteIpAddress?.ToString() ?? "unknown", _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = limit.PermitLimit,
            Window = limit.Window,
            QueueLimit = 0,
        });
    }

    private static async ValueTask RejectAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var http = rejected.HttpContext;
        http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        var seconds = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)) : 1;
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails =
            {
                Status = StatusCodes.Status429TooManyRequests,
                Title = "Too many requests",
                Detail = $"This client sent more requests than the API allows; try again in {seconds} s.",
            },
        });
    }
}
