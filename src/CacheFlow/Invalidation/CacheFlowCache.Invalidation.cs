using CacheFlow.Invalidation;
using CacheFlow.Logging;
using CacheFlow.Redis;
using CacheFlow.Tracing;
using StackExchange.Redis;

namespace CacheFlow;

public sealed partial class CacheFlowCache
{
    /// <inheritdoc />
    public async ValueTask<bool> RemoveAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        cancellationToken.ThrowIfCancellationRequested();
        var entryKey = _keys.Entry(key);
        // This instance stops serving its copy at once; the others hear of it once Redis has the removal (were they
        // told first, one could read the old value from Redis again before it is gone).
        _local?.Drop(key);
        return await ApplyAsync(InvalidationKind.Key, entryKey, key).ConfigureAwait(false) >= 0;
    }

    /// <inheritdoc />
    public ValueTask<long> RemoveByTagAsync(string tag, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag);
        cancellationToken.ThrowIfCancellationRequested();
        _local?.DropTag(tag);
        return new ValueTask<long>(ApplyAsync(InvalidationKind.Tag, tag, tag));
    }

    /// <inheritdoc />
    public ValueTask<long> RemoveByPrefixAsync(string keyPrefix, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyPrefix);
        cancellationToken.ThrowIfCancellationRequested();
        // The entry key of the prefix without its closing brace: the start of every entry key under the prefix.
        var entryPrefix = _keys.EntryPrefix(keyPrefix);
        _local?.DropPrefix(keyPrefix);
        return new ValueTask<long>(ApplyAsync(InvalidationKind.Prefix, entryPrefix, keyPrefix));
    }

    /// <summary>Removes every entry under the cache's key prefix (durable data is not an entry, and stays), here and in the other instances' L1s.</summary>
    internal ValueTask<long> RemoveAllAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // The start of every entry key: {prefix}{
        var entryPrefix = _keys.EntryPrefix(string.Empty);
        _local?.DropPrefix(string.Empty);
        return new ValueTask<long>(ApplyAsync(InvalidationKind.Prefix, entryPrefix, KeyFamily.Other));
    }

    /// <summary>
    /// Applies every pending invalidation that Redis takes now; returns how many are still pending. The retry loop
    /// calls it; tests call it to apply at a moment of their choosing.
    /// </summary>
    internal async Task<int> ApplyPendingAsync()
    {
        foreach (var pending in _pending.Snapshot())
        {
            if (await ApplyAsync(pending.Key.Kind, pending.Key.Value, metricsKey: null).ConfigureAwait(false) >= 0)
                _pending.Applied(pending);
        }

        return _pending.Count;
    }

    /// <summary>
    /// Carries out one invalidation in Redis, then tells the other instances' L1s. Once started it is not cancelled
    /// (it follows a change already committed); if Redis fails, it is kept and retried. Returns how many entries
    /// existed, or -1 if it was kept for later.
    /// </summary>
    private async Task<long> ApplyAsync(InvalidationKind kind, string value, string? metricsKey)
    {
        using var activity = CacheActivities.Start(CacheActivities.Invalidate, _options, family: null);
        if (activity is not null)
        {
            activity.SetTag(CacheActivities.InvalidationKind, kind.ToString().ToLowerInvariant());
            if (metricsKey is null)
                activity.SetTag(CacheActivities.InvalidationRetry, true);
        }

        try
        {
            var removed = kind switch
            {
                InvalidationKind.Key => await _store.DeleteAsync(value).ConfigureAwait(false) ? 1 : 0,
                InvalidationKind.Tag => await _store.RemoveTagAsync(value).ConfigureAwait(false),
                _ => await _store.RemovePrefixAsync(_keys.PrefixOf(value)).ConfigureAwait(false),
            };
            // Redis has it: this L1 drops its copies (again: a read may have stored one since) and the others are told.
            switch (kind)
            {
                // The L1 holds the callers' keys; an invalidation (kept pending, perhaps) holds Redis's.
                case InvalidationKind.Key:
                    if (_keys.KeyOf(value) is { } key)
                        _local?.Drop(key);
                    _bus.PublishKey(value);
                    break;
                case InvalidationKind.Tag:
                    _local?.DropTag(value);
                    _bus.PublishTag(value);
                    break;
                default:
                    _local?.DropPrefix(_keys.PrefixOf(value));
                    _bus.PublishPrefix(value);
                    break;
            }

            activity?.SetTag(CacheActivities.InvalidationRemoved, removed);
            return removed;
        }
        catch (Exception ex) when (RedisGuard.IsFailure(ex))
        {
            CacheActivities.Fail(activity, ex);
            activity?.SetTag(CacheActivities.InvalidationPending, _options.Protections.HasFlag(CacheProtections.KeepInvalidations));
            if (metricsKey is not null)
            {
                OnRedisFailure(_metrics.For(metricsKey), ex, Log.RemoveFailed);
                KeepPending(kind, value);
            }

            return -1;
        }
    }

    /// <summary>Keeps an invalidation Redis did not take, and makes sure the retry loop runs.</summary>
    private void KeepPending(InvalidationKind kind, string value)
    {
        if (!_options.Protections.HasFlag(CacheProtections.KeepInvalidations))
            return;
        _pending.Keep(kind, value);
        _pendingRetry.Kick();
    }

    /// <summary>Redis is back: what waits for it is tried now (and disposal leaves the rest to the durable outbox, if the application keeps one).</summary>
    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        _pendingRetry.Kick();
        _abandoned.Retry.Kick();
    }
}
