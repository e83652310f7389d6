namespace CacheFlow;

/// <summary>
/// One load (or refresh) of a key in this process, which other callers of the same key join instead of loading.
/// </summary>
/// <remarks>
/// A joiner may take the flight's result only if the Redis call that decided it (the lease call that found another
/// loader's value, the lease-checked write-back, the lease check of an uncached null) was issued after it joined:
/// then the result is no older than any write acknowledged before the joiner started. The flight numbers the
/// deciding calls it issues; a joiner notes the number when it joins and compares it with the result's.
/// <para>
/// A load for waiting callers (not a background refresh) is abandoned when every caller that waited for it has
/// stopped waiting: its factory's token is cancelled then, as HybridCache defines it. One caller giving up never
/// cancels the load the others wait for.
/// </para>
/// <para>It is its own completion source: one object less per miss.</para>
/// </remarks>
internal sealed class Flight : TaskCompletionSource<FlightResult>
{
    private readonly CancellationTokenSource? _abandoned;
    private long _issued;
    private int _waiting;

    /// <summary>
    /// Starts a flight whose factory runs with <paramref name="disposed"/>, and, if it is a load <paramref name="forCallers"/>
    /// that its <paramref name="owner"/> may give up on, until its callers all give up. An owner that cannot give up
    /// waits to the end, so the load is never abandoned: it needs no token source of its own.
    /// </summary>
    public Flight(string entryKey, CancellationToken disposed, bool forCallers, CancellationToken owner = default)
        : base(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        EntryKey = entryKey;
        ForCallers = forCallers;
        _abandoned = forCallers && owner.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(disposed) : null;
        Token = _abandoned?.Token ?? disposed;
    }

    public string EntryKey { get; }

    /// <summary>Whether this is a load for waiting callers (not a background refresh, whose callers were served already).</summary>
    public bool ForCallers { get; }

    /// <summary>The token of the flight's factory.</summary>
    public CancellationToken Token { get; }

    /// <summary>Completed with the flight's result (or error).</summary>
    public TaskCompletionSource<FlightResult> Completion => this;

    /// <summary>The number of the last deciding call issued; a joiner reads it when it joins.</summary>
    public long Issued => Volatile.Read(ref _issued);

    /// <summary>Numbers a deciding call about to be issued.</summary>
    public long Issue() => Interlocked.Increment(ref _issued);

    /// <summary>Waits for the result until <paramref name="cancellationToken"/> fires; the last waiter to give up abandons the load.</summary>
    public Task<FlightResult> WaitAsync(CancellationToken cancellationToken) => WaitAsync(Task, cancellationToken);

    /// <summary>
    /// As <see cref="WaitAsync(CancellationToken)"/>, for the flight's owner, which waits for its own run of the load
    /// (<paramref name="run"/>, which ends as the flight does) rather than for the flight: its continuation then runs
    /// where the load ended, not on another thread (the flight's joiners' always do).
    /// </summary>
    public Task<FlightResult> WaitAsync(Task<FlightResult> run, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waiting);
        // A caller that cannot give up waits for the result as it is: no state machine, and it never leaves the count.
        return cancellationToken.CanBeCanceled ? WaitOrGiveUpAsync(run, cancellationToken) : run;
    }

    private async Task<FlightResult> WaitOrGiveUpAsync(Task<FlightResult> result, CancellationToken cancellationToken)
    {
        try
        {
            return await result.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            if (Interlocked.Decrement(ref _waiting) == 0 && !Task.IsCompleted)
            {
                // Nobody waits for the flight any more: a failure it ends with is observed here, not reported unobserved.
                Observe(Task);
                Abandon();
            }

            // The owner's run fails as the flight does; with its owner gone, its failure is observed here.
            if (result != Task)
                Observe(result);
            throw;
        }
    }

    private static void Observe(Task task) =>
        task.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    /// <summary>Frees the factory's token source once the flight is over.</summary>
    public void Finish() => _abandoned?.Dispose();

    private void Abandon()
    {
        try
        {
            _abandoned?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The flight finished meanwhile: nothing left to cancel.
        }
    }
}

/// <summary>What a flight produced, and whether its joiners may take it.</summary>
/// <param name="Result">The result for the flight's owner.</param>
/// <param name="Shareable">
/// Whether joiners may take it: false when the write-back was refused (an invalidation revoked the lease), when the
/// factory's result may not be cached, or when nothing was loaded. Joiners of an unshareable flight start over.
/// </param>
/// <param name="DecidedBy">
/// The number of the deciding call; joiners that joined after it was issued start over. For a write-back that failed,
/// the number taken before the source was read: nothing checked the value after that.
/// </param>
internal readonly record struct FlightResult(CacheResult Result, bool Shareable, long DecidedBy)
{
    public static FlightResult Nothing => new(default, Shareable: false, 0);

    /// <summary>Whether a caller that joined when <paramref name="joinedAt"/> calls had been issued may take this result.</summary>
    public bool SharesWith(long joinedAt) => Shareable && DecidedBy > joinedAt;
}
