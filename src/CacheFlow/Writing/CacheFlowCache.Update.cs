using System.Buffers;
using CacheFlow.Logging;
using CacheFlow.Redis;

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
        try
        {
            for (var attempt = 0; attempt < UpdateAttempts; attempt++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (await _store.GetCheckedAsync(entryKey).ConfigureAwait(false) is not { IsNull: false } stored || stored.At(NowMs) == Freshness.Expired)
                {
                    // Not cached: a load in progress read the source before this change, so it must not write back.
                    await _store.RevokeLoadAsync(entryKey).ConfigureAwait(false);
                    return false;
                }

                var serializer = JsonSerializerOf<T>();
                var changed = update(serializer.Deserialize(new ReadOnlySequence<byte>(stored.Json)));
                var entry = Encode(changed, serializer);
                // The entry keeps its tags at the versions it recorded: changed in place, it is no newer for them.
                if (stored.Header.TagsLength > 0)
                    entry = EntryTags.Append(entry, stored.Tags);
                (stored.Header with { Version = Random.Shared.NextInt64(1, long.MaxValue) }).WriteHeader(entry.Span);
                if (await _store.ReplaceAsync(entryKey, stored.Bytes, entry, _bus.KeyMessage(entryKey)).ConfigureAwait(false))
                {
                    _local?.Drop(key);
                    return true;
                }
            }
        }
        catch (Exception ex) when (RedisGuard.IsFailure(ex))
        {
            OnRedisFailure(_metrics.For(key), ex, Log.WriteFailed);
        }

        // Too much contention, or Redis failed: drop the entry so the next read loads the change (kept and retried
        // if Redis does not take the removal now).
        await RemoveAsync(key, CancellationToken.None).ConfigureAwait(false);
        return false;
    }
}
