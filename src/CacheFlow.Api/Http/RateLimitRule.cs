using System.ComponentModel.DataAnnotations;

namespace CacheFlow.Api.Http;

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
