using CacheFlow.Api.Users;

namespace CacheFlow.Api.Tests;

/// <summary>
/// Changes share list-page removals without losing the guarantee of their own: each waits for a removal that started
/// after it asked. Gated: the removal in flight is held open while the next changes ask.
/// </summary>
public sealed class ListInvalidationTests
{
    [Fact]
    public async Task ChangesThatAskDuringARemovalShareTheNextOneNotTheOneInFlight()
    {
        var removals = new List<TaskCompletionSource<long>>();
        var secondStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var lists = new ListInvalidation(() =>
        {
            var removal = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (removals)
            {
                removals.Add(removal);
                if (removals.Count == 2)
                    secondStarted.TrySetResult();
            }

            return removal.Task;
        });

        var first = lists.RemoveAsync();
        var second = lists.RemoveAsync();
        var third = lists.RemoveAsync();
        Assert.Single(removals);

        // The removal in flight may have passed the second and third changes: it ends, and they still wait.
        removals[0].SetResult(1);
        Assert.Equal(1, await first);
        await secondStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(second.IsCompleted);
        Assert.False(third.IsCompleted);

        removals[1].SetResult(2);
        var shared = await Task.WhenAll(second, third);
        Assert.Equal([2L, 2L], shared);
        Assert.Equal(2, removals.Count);
    }

    [Fact]
    public async Task AFailedRemovalFailsItsCallersAndTheNextChangeStartsAnother()
    {
        var calls = 0;
        var lists = new ListInvalidation(() => ++calls == 1 ? Task.FromException<long>(new InvalidOperationException("gone")) : Task.FromResult(5L));

        await Assert.ThrowsAsync<InvalidOperationException>(lists.RemoveAsync);
        Assert.Equal(5, await lists.RemoveAsync());
    }
}
