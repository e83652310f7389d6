using System.ComponentModel.DataAnnotations;

namespace CacheFlow.Api.Redis;

/// <summary>How the Redis that holds durable data is checked (configuration section <c>DurableData</c>).</summary>
public sealed class DurableDataOptions
{
    /// <summary>
    /// Runs the API on a Redis whose configuration can lose accepted writes (it evicts keys, keeps no append-only
    /// file, or cannot be checked): the start is not refused, <c>/health/ready</c> says Degraded, and durable writes
    /// are queued there anyway. Without it such a Redis is refused at start, and found later it sends durable writes
    /// to the database instead.
    /// </summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool AllowDataLoss { get; set; }

    /// <summary>
    /// How often the configuration is checked again (it can change with CONFIG SET); it is also checked at start and
    /// whenever the connection is restored.
    /// </summary>
    /// <value>The default value is 1 minute.</value>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromMinutes(1);
}
