using System.Text.Json;
using StackExchange.Redis;

namespace CacheFlow;

public sealed partial class CacheFlowCache
{
    private const int UpdateAttempts = 5;

    /// <inheritdoc />
    public async ValueTask<bool> UpdateIfCachedAsync<T>(string key, Func<T, T> update, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(update);
        var entryKey = _keys.Entry(key);
        var leaseKey = CacheKeys.Lease(entryKey);
        var db = Database;
        try
        {
            for (var attempt = 0; attempt < UpdateAttempts; attempt++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var value = await _guard.RunAsync(static s => s.db.StringGetAsync(s.entryKey), (db, entryKey: (RedisKey)entryKey)).ConfigureAwait(false);
                if (StoredEntry.From(value) is not { IsNull: false } stored || stored.At(NowMs) == Freshness.Expired)
                {
                    // Not cached: a load in progress read the source before this change, so it must not write back.
                    await _guard.RunAsync(static s => s.db.KeyDeleteAsync(s.leaseKey), (db, leaseKey: (RedisKey)leaseKey)).ConfigureAwait(false);
                    return false;
                }

                var changed = update(JsonSerializer.Deserialize(stored.Json.Span, TypeInfo<T>())!);
                var entry = Encode(changed);
                (stored.Header with { Version = Random.Shared.NextInt64(1, long.MaxValue) }).WriteHeader(entry.Span);
                var replaced = await _guard.RunAsync(static s => s.db.ScriptEvaluateAsync(Scripts.Replace, [s.entryKey, s.leaseKey], [s.old, s.entry]),
                    (db, entryKey: (RedisKey)entryKey, leaseKey: (RedisKey)leaseKey, old: (RedisValue)stored.Bytes, entry: (RedisValue)entry)).ConfigureAwait(false);
                if ((int)replaced == 1)
                {
                    _local?.Invalidate(entryKey);
                    return true;
                }
            }
        }
        catch (Exception ex) when (RedisGuard.IsFailure(ex))
        {
            OnRedisFailure(_metrics.For(key), ex, key, Log.WriteFailed);
        }

        // Too much contention, or Redis failed: drop the entry so the next read loads the change.
        await RemoveAsync(key, cancellationToken).ConfigureAwait(false);
        return false;
    }
}
