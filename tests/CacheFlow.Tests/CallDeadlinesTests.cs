using CacheFlow.Redis;

namespace CacheFlow.Tests;

/// <summary>
/// The guard's per-call deadline (<see cref="CallDeadlines"/>): a call that answers returns its own result, one that
/// never does fails with a <see cref="TimeoutException"/>, and pooled sources reused across calls never mix them up.
/// Calls are <see cref="TaskCompletionSource{TResult}"/> tasks the test completes (or never does).
/// </summary>
public sealed class CallDeadlinesTests
{
    [Fact]
    public async Task ACallThatAnswersReturnsItsResult()
    {
        var deadlines = new CallDeadlines(TimeSpan.FromMinutes(10));
        var call = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);

        var bounded = deadlines.Bound(call.Task);
        call.SetResult(42);

        Assert.Equal(42, await bounded.Within());
    }

    [Fact]
    public async Task ACallThatFailsFailsWithItsOwnError()
    {
        var deadlines = new CallDeadlines(TimeSpan.FromMinutes(10));
        var call = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);

        var bounded = deadlines.Bound(call.Task);
        call.SetException(new InvalidOperationException("refused"));

        Assert.Equal("refused", (await Assert.ThrowsAsync<InvalidOperationException>(() => bounded.Within())).Message);
    }

    [Fact]
    public async Task ACallThatNeverAnswersTimesOutAndAnAnswerAfterwardsIsIgnored()
    {
        var deadlines = new CallDeadlines(TimeSpan.FromMilliseconds(20));
        var call = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);

        await Assert.ThrowsAsync<TimeoutException>(() => deadlines.Bound(call.Task).Within());
        call.SetException(new InvalidOperationException("too late"));

        // The source went back to the pool once the late call ended: the next call gets its own answer through it.
        var next = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var bounded = deadlines.Bound(next.Task);
        next.SetResult(7);
        Assert.Equal(7, await bounded.Within());
    }

    [Fact]
    public async Task ManyCallsThroughPooledSourcesEachGetTheirOwnAnswer()
    {
        var deadlines = new CallDeadlines(TimeSpan.FromMinutes(10));
        for (var round = 0; round < 20; round++)
        {
            var calls = Enumerable.Range(0, 100).Select(_ => new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
            var bounded = calls.Select(c => deadlines.Bound(c.Task).AsTask()).ToArray();
            // Answered out of order, half of them on other threads.
            await Task.WhenAll(Enumerable.Range(0, 100).Reverse().Select(i => i % 2 == 0 ? Task.Run(() => calls[i].SetResult((round * 100) + i)) : Task.FromResult(calls[i].TrySetResult((round * 100) + i))));

            var answers = await Task.WhenAll(bounded).WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(Enumerable.Range(round * 100, 100), answers);
        }
    }

    [Fact]
    public async Task DeadlinesBeyondTheRingsFirstSizeAndAroundItsEndEachTimeOutTheirOwnCall()
    {
        const string Timeout = "Redis did not answer within the timeout.";
        var deadlines = new CallDeadlines(TimeSpan.FromMilliseconds(50));
        // Fifty calls time out first: the ring's head moves past its start, so the next ones wrap around its end as it grows.
        foreach (var call in Enumerable.Range(0, 50).Select(_ => deadlines.Bound(new TaskCompletionSource<int>().Task).AsTask()).ToArray())
            Assert.Equal(Timeout, (await Assert.ThrowsAsync<TimeoutException>(() => call.WaitAsync(TimeSpan.FromSeconds(20)))).Message);

        var calls = Enumerable.Range(0, 300).Select(_ => new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        var bounded = calls.Select(c => deadlines.Bound(c.Task).AsTask()).ToArray();
        // The even calls answer; the odd ones never do, and each must fail by its own deadline, not the test's.
        for (var i = 0; i < calls.Length; i += 2)
            calls[i].SetResult(i);

        for (var i = 0; i < calls.Length; i++)
        {
            var call = bounded[i].WaitAsync(TimeSpan.FromSeconds(20));
            if (i % 2 == 0)
                Assert.Equal(i, await call);
            else
                Assert.Equal(Timeout, (await Assert.ThrowsAsync<TimeoutException>(() => call)).Message);
        }
    }

    [Fact]
    public async Task ACallAlreadyAnsweredIsReturnedAsItIs()
    {
        var deadlines = new CallDeadlines(TimeSpan.FromMilliseconds(1));

        var bounded = deadlines.Bound(Task.FromResult(5));

        Assert.True(bounded.IsCompletedSuccessfully);
        Assert.Equal(5, await bounded);
    }
}
