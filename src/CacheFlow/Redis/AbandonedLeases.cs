using System.Collections.Concurrent;

namespace CacheFlow.Redis;

/// <summary>
/// Leases a load could not hand back because Redis failed: its write-back or release did not get through, or its
/// lease script timed out (it may still have run and taken the lease). Left alone, such a lease would make every
/// reader of its key, in every process, wait for it to run out (up to <see cref="CacheFlowOptions.LeaseDuration"/>).
/// Each is released (compare-and-delete of its token, so a lease taken since by another loader is untouched) as soon as
/// Redis answers again, retried every <see cref="CacheFlowOptions.InvalidationRetryInterval"/>, until released or run
/// out by itself.
/// </summary>
internal sealed class AbandonedLeases
{
    private readonly ConcurrentDictionary<Lease, long> _leases = new();
    private readonly RedisEntryStore _store;
    private readonly TimeProvider _time;
    private readonly long _leaseMs;
    private readonly bool _enabled;

    public AbandonedLeases(RedisEntryStore store, CacheFlowOptions options, TimeProvider time, CancellationToken stopped)
    {
        _store = store;
        _time = time;
        _leaseMs = (long)options.LeaseDuration.TotalMilliseconds;
        _enabled = options.Protections.HasFlag(CacheProtections.ReleaseAbandonedLeases);
        Retry = new RetryLoop(ReleaseAsync, () => _leases.Count, options.InvalidationRetryInterval, time, stopped);
    }

    /// <summary>How many leases wait to be released.</summary>
    public int Count => _leases.Count;

    /// <summary>The loop that retries them; kicked when the connection is restored.</summary>
    public RetryLoop Retry { get; }

    /// <summary>Keeps a lease this process may hold () to release once Redis answers.</summary>
    public void Add(Lease lease)
    {
        if (!_enabled)
            return;
        _leases[lease] = _time.GetUtcNow().ToUnixTimeMilliseconds() + _leaseMs;
        Retry.Kick();
    }

    /// <summary>Releases every lease Redis takes the release of now, forgets those run out; returns how many are left. Tests call it too.</summary>
    internal async Task<int> ReleaseAsync()
    {
        foreach (var (lease, expiresAt) in _leases)
        {
            if (_time.GetUtcNow().ToUnixTimeMilliseconds() < expiresAt)
            {
                try
                {
                    // False (not ours any more) is as good as released: the write-back landed, or an invalidation revoked it.
                    await _store.ReleaseAsync(lease).ConfigureAwait(false);
                }
                catch (Exception ex) when (RedisGuard.IsFailure(ex))
                {
                    continue;
                }
            }

            _leases.TryRemove(lease, out _);
        }

        return _leases.Count;
    }
}
