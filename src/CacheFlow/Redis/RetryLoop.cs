namespace CacheFlow.Redis;

/// <summary>
/// Runs a pass over work Redis did not take (kept invalidations, abandoned leases) every interval while any is left,
/// and at once when <see cref="Kick"/> is called with work waiting (the connection was restored, say). At most one
/// pass runs at a time; the loop stops when nothing is left and starts again with the next <see cref="Kick"/>.
/// </summary>
/// <param name="pass">Tries what is waiting; returns how much is left.</param>
/// <param name="waiting">How much is waiting now.</param>
/// <param name="interval">The pause before each pass.</param>
/// <param name="time">The clock of the pause.</param>
/// <param name="stopped">Cancelled when the owner is disposed: the loop ends.</param>
internal sealed class RetryLoop(Func<Task<int>> pass, Func<int> waiting, TimeSpan interval, TimeProvider time, CancellationToken stopped)
{
    private int _running;

    /// <summary>Starts the loop unless it runs or nothing waits.</summary>
    public void Kick()
    {
        if (waiting() > 0 && Interlocked.CompareExchange(ref _running, 1, 0) == 0)
            _ = RunAsync();
    }

    private async Task RunAsync()
    {
        try
        {
            while (waiting() > 0 && !stopped.IsCancellationRequested)
            {
                await Task.Delay(interval, time, stopped).ConfigureAwait(false);
                await pass().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopped.IsCancellationRequested)
        {
            // Disposed: what is left is left.
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }

        // Added between the last check and the flag's reset: start again.
        if (!stopped.IsCancellationRequested)
            Kick();
    }
}
