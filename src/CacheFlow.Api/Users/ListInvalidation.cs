namespace CacheFlow.Api.Users;

/// <summary>
/// Drops every list page (the <see cref="UserCacheKeys.Lists"/> tag) after a change, one tag removal for all the
/// changes committed while the previous one ran. Each change waits for a removal that started after it asked, which is
/// what removing the tag itself would give it; changes that ask while a removal runs share the next one. Under load,
/// creates then cost one tag removal (three Redis calls or more) per round trip instead of one each.
/// </summary>
internal sealed class ListInvalidation(Func<Task<long>> remove)
{
    private readonly Lock _lock = new();

    /// <summary>Drops the list pages of <paramref name="cache"/>.</summary>
    public ListInvalidation(ICacheFlow cache)
        : this(() => cache.RemoveByTagAsync(UserCacheKeys.Lists, CancellationToken.None).AsTask())
    {
    }

    // The callers waiting for a removal that has not started yet, and whether one is running.
    private TaskCompletionSource<long>? _waiting;
    private bool _running;

    /// <summary>
    /// Drops every list page; completes once a removal that started after this call has been applied or kept pending
    /// by the cache (see <see cref="ICacheFlow.RemoveByTagAsync"/>: the number of pages removed, or -1 if kept for later).
    /// </summary>
    public Task<long> RemoveAsync()
    {
        TaskCompletionSource<long> waiting;
        lock (_lock)
        {
            if (_waiting is { } next)
                return next.Task;
            waiting = _waiting = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_running)
                return waiting.Task;
            _running = true;
        }

        _ = RunAsync();
        return waiting.Task;
    }

    /// <summary>Runs removals one after another while callers wait for one.</summary>
    private async Task RunAsync()
    {
        while (true)
        {
            TaskCompletionSource<long> callers;
            lock (_lock)
            {
                if (_waiting is null)
                {
                    _running = false;
                    return;
                }

                // Whoever asks from now on waits for the next removal: this one may already be past their change.
                callers = _waiting;
                _waiting = null;
            }

            try
            {
                callers.SetResult(await remove());
            }
            catch (Exception ex)
            {
                callers.SetException(ex);
            }
        }
    }
}
