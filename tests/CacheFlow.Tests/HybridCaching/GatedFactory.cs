namespace CacheFlow.Tests.HybridCaching;

/// <summary>
/// A factory that counts its calls, reports the token it was given once it has started, and waits for the test to
/// open its gate before it returns: the test decides every interleaving, no sleep does.
/// </summary>
public sealed class GatedFactory<T>(Func<int, T> produce)
{
    private readonly TaskCompletionSource<CancellationToken> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    /// <summary>Completes with the factory's token when its first call has started.</summary>
    public Task<CancellationToken> Started => _started.Task;

    public void Open() => _gate.TrySetResult();

    public async ValueTask<T> CreateAsync(CancellationToken cancellationToken)
    {
        var call = Interlocked.Increment(ref _calls);
        _started.TrySetResult(cancellationToken);
        // The wait ignores the token on purpose: whether the token was cancelled is what the tests look at.
        await _gate.Task;
        return produce(call);
    }
}
