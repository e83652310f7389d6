namespace CacheFlow;

/// <summary>
/// One load (or refresh) of a key in this process, which other callers of the same key join instead of loading.
/// </summary>
/// <remarks>
/// A joiner may take the flight's result only if the Redis call that decided it (the lease call that found another
/// loader's value, the lease-checked write-back, the lease check of an uncached null) was issued after it joined:
/// then the result is no older than any write acknowledged before the joiner started. The flight numbers the
/// deciding calls it issues; a joiner notes the number when it joins and compares it with the result's.
/// </remarks>
internal sealed class Flight(string entryKey)
{
    private long _issued;

    public string EntryKey { get; } = entryKey;

    public TaskCompletionSource<FlightResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The number of the last deciding call issued; a joiner reads it when it joins.</summary>
    public long Issued => Volatile.Read(ref _issued);

    /// <summary>Numbers a deciding call about to be issued.</summary>
    public long Issue() => Interlocked.Increment(ref _issued);
}

/// <summary>What a flight produced, and whether its joiners may take it.</summary>
/// <param name="Result">The result for the flight's owner.</param>
/// <param name="Shareable">
/// Whether joiners may take it: false when the write-back was refused (an invalidation revoked the lease), when the
/// factory's result may not be cached, or when nothing was loaded. Joiners of an unshareable flight start over.
/// </param>
/// <param name="DecidedBy">The number of the deciding call; joiners that joined after it was issued start over.</param>
internal readonly record struct FlightResult(CacheResult Result, bool Shareable, long DecidedBy)
{
    public static FlightResult Nothing => new(default, Shareable: false, 0);

    /// <summary>Whether a caller that joined when <paramref name="joinedAt"/> calls had been issued may take this result.</summary>
    public bool SharesWith(long joinedAt) => Shareable && DecidedBy > joinedAt;
}
