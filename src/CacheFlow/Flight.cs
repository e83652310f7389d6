namespace CacheFlow;

/// <summary>
/// One load (or refresh) of a key in this process, which other callers of the same key join instead of loading.
/// A flight is joinable only while it is in the flights map; it leaves the map before each Redis call that decides
/// its result, so every joiner joined before that call and may take the result without reading a value older than
/// a write acknowledged before it started.
/// </summary>
internal sealed class Flight(string entryKey)
{
    public string EntryKey { get; } = entryKey;

    public TaskCompletionSource<FlightResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>What a flight produced, and whether its joiners may take it.</summary>
/// <param name="Result">The result for the flight's owner.</param>
/// <param name="Shareable">
/// Whether joiners may take it: false when the write-back was refused (an invalidation revoked the lease), when the
/// factory's result may not be cached, or when nothing was loaded. Joiners of an unshareable flight start over.
/// </param>
internal readonly record struct FlightResult(CacheResult Result, bool Shareable)
{
    public static FlightResult Nothing => new(default, Shareable: false);
}
