namespace CacheFlow.Api.Tests.History;

/// <summary>
/// A read that returned a version already superseded when it started: <paramref name="Superseding"/> is the first
/// acknowledged write (by the time its answer arrived) of a newer version of the same key.
/// </summary>
public sealed record StaleRead(HistoryOperation Read, HistoryOperation Superseding)
{
    /// <summary>How long before the read started its version had been superseded by an acknowledged write.</summary>
    public TimeSpan Lag => Read.Start - Superseding.End;

    /// <inheritdoc />
    public override string ToString() =>
        $"key {Read.Key}: read v{Read.Version} via instance {Read.Instance} ({Read.XCache}) at {Read.Start.TotalMilliseconds:F1} ms, " +
        $"but v{Superseding.Version} was acknowledged via instance {Superseding.Instance} at {Superseding.End.TotalMilliseconds:F1} ms (lag {Lag.TotalMilliseconds:F1} ms)";
}
