using System.ComponentModel.DataAnnotations;

namespace CacheFlow.Api.Http;

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
