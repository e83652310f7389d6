using System.ComponentModel.DataAnnotations;
using CacheFlow.Validation;

namespace CacheFlow.WriteBehind;

/// <summary>Options of a write-behind queue and its flusher.</summary>
public sealed class WriteBehindOptions
{
    /// <summary>How many writes a flusher takes and applies at once.</summary>
    /// <value>The default value is 100.</value>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 100;

    /// <summary>How long an idle flusher waits before looking at the queue again.</summary>
    /// <value>The default value is 200 milliseconds.</value>
    [TimeSpanRange("00:00:00.001", "00:01:00")]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How many failed attempts send a write to the dead-letter list.</summary>
    /// <value>The default value is 5.</value>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>The first retry's delay; each further retry waits twice as long.</summary>
    /// <value>The default value is 1 second.</value>
    [TimeSpanRange("00:00:00.001", "01:00:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A flusher that has not been heard from for this long is taken for dead, and the writes it had taken are put
    /// back on the queue for others.
    /// </summary>
    /// <value>The default value is 30 seconds.</value>
    [TimeSpanRange("00:00:00.100", "01:00:00")]
    public TimeSpan ConsumerTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long the status of a write stays readable after its last change (accepted, retried, done or failed). A
    /// client polls a status for seconds; each one kept costs Redis memory, and whoever can post writes can make many.
    /// </summary>
    /// <value>The default value is 1 hour.</value>
    [TimeSpanRange("00:00:01", "30.00:00:00")]
    public TimeSpan StatusRetention { get; set; } = TimeSpan.FromHours(1);
}
