namespace CacheFlow.Tests.HybridCaching;

/// <summary>
/// Stampede protection and cancellation: concurrent callers of one key share one factory call; each caller may cancel
/// its own wait, and the shared factory's token is cancelled only when every caller has cancelled.
/// </summary>
/// <remarks>
/// A caller counts as having joined the shared call once GetOrCreateAsync has returned its pending task (as it does in
/// DefaultHybridCache, which joins synchronously when it finds no value in its L1).
/// </remarks>
public abstract partial class HybridCacheConformance
{
    [Fact]
    public async Task ManyConcurrentCallersOfOneKeyShareOneFactoryCall()
    {
        var cache = NewInstance();
        var factory = new GatedFactory<Frozen>(n => new Frozen(n, "loaded"));

        var callers = Enumerable.Range(0, 32).Select(_ => cache.GetOrCreateAsync(Key(), factory.CreateAsync).AsTask()).ToList();
        await Bounded(factory.Started);
        factory.Open();
        var values = await Bounded(Task.WhenAll(callers));

        Assert.All(values, v => Assert.Equal(new Frozen(1, "loaded"), v));
        Assert.Equal(1, factory.Calls);
    }

    [Fact]
    public async Task OneCallerCancellingGetsCancelledWhileTheOtherGetsTheValueAndTheFactoryRunsOn()
    {
        var cache = NewInstance();
        var factory = new GatedFactory<Frozen>(n => new Frozen(n, "loaded"));
        using var first = new CancellationTokenSource();
        var cancelled = cache.GetOrCreateAsync(Key(), factory.CreateAsync, cancellationToken: first.Token).AsTask();
        var factoryToken = await Bounded(factory.Started);
        var patient = cache.GetOrCreateAsync(Key(), factory.CreateAsync, cancellationToken: CancellationToken.None).AsTask();

        await first.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Bounded(cancelled));
        var tokenCancelledBeforeRelease = factoryToken.IsCancellationRequested;
        factory.Open();
        var value = await Bounded(patient);

        Assert.False(tokenCancelledBeforeRelease, "the factory's token was cancelled while a caller still waited");
        Assert.False(factoryToken.IsCancellationRequested, "the factory's token was cancelled while a caller still waited");
        Assert.Equal(new Frozen(1, "loaded"), value);
        Assert.Equal(1, factory.Calls);
    }

    [Fact]
    public async Task WhenEveryCallerCancelsTheFactoryTokenIsCancelled()
    {
        var cache = NewInstance();
        var factory = new GatedFactory<Frozen>(n => new Frozen(n, "loaded"));
        using var first = new CancellationTokenSource();
        using var second = new CancellationTokenSource();
        var one = cache.GetOrCreateAsync(Key(), factory.CreateAsync, cancellationToken: first.Token).AsTask();
        var factoryToken = await Bounded(factory.Started);
        var two = cache.GetOrCreateAsync(Key(), factory.CreateAsync, cancellationToken: second.Token).AsTask();

        await first.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Bounded(one));
        Assert.False(factoryToken.IsCancellationRequested, "one caller still waits, so the factory runs on");
        await second.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Bounded(two));
        var factoryCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var registration = factoryToken.Register(() => factoryCancelled.TrySetResult());
        await factoryCancelled.Task.WaitAsync(TimeSpan.FromSeconds(30));
        factory.Open();

        Assert.True(factoryToken.IsCancellationRequested);
    }

    [Fact]
    public async Task ALoneCallerCancellingCancelsTheFactoryToken()
    {
        var cache = NewInstance();
        var factory = new GatedFactory<Frozen>(n => new Frozen(n, "loaded"));
        using var caller = new CancellationTokenSource();
        var call = cache.GetOrCreateAsync(Key(), factory.CreateAsync, cancellationToken: caller.Token).AsTask();
        var factoryToken = await Bounded(factory.Started);

        await caller.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Bounded(call));
        var factoryCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var registration = factoryToken.Register(() => factoryCancelled.TrySetResult());
        await factoryCancelled.Task.WaitAsync(TimeSpan.FromSeconds(30));
        factory.Open();
        Assert.True(factoryToken.IsCancellationRequested);
    }
}
