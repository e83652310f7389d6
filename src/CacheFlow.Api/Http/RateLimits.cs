using System.ComponentModel.DataAnnotations;
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

/// <summary>The rate limits (configuration section <c>RateLimits</c>), per client IP address.</summary>
public sealed class RateLimitOptions
{
    /// <summary>Whether requests are limited at all.</summary>
    /// <value>The default value is true.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>Public writes: creates (also queued), updates, deletes and logins.</summary>
    /// <value>The default value is 600 a minute.</value>
    [Required]
    public RateLimitRule Writes { get; set; } = new() { PermitLimit = 600 };

    /// <summary>Reads that fill the cache (a user, a list page) or ask every Redis primary for INFO (the stats).</summary>
    /// <value>The default value is 6000 a minute.</value>
    [Required]
    public RateLimitRule Reads { get; set; } = new() { PermitLimit = 6000 };
}

/// <summary>How many requests a client may send in a window (a fixed window: the count restarts with each window).</summary>
public sealed class RateLimitRule
{
    /// <summary>The requests allowed in one window.</summary>
    [Range(1, 10_000_000)]
    public int PermitLimit { get; set; } = 600;

    /// <summary>The window.</summary>
    /// <value>The default value is 1 minute.</value>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);
}
