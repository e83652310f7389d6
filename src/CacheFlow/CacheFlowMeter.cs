namespace CacheFlow;

/// <summary>
/// The meter CacheFlow reports on (<c>cacheflow.*</c> instruments): add it to OpenTelemetry with
/// <c>AddMeter(CacheFlowMeter.Name)</c>.
/// </summary>
public static class CacheFlowMeter
{
    /// <summary>The meter's name: <c>CacheFlow</c>.</summary>
    public const string Name = "CacheFlow";

    /// <summary>Histogram buckets for durations in seconds, from half a millisecond to 5 seconds.</summary>
    public static IReadOnlyList<double> SecondsBuckets { get; } = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
}
