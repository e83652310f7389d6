using StackExchange.Redis;

namespace CacheFlow;

public sealed partial class CacheFlowCache
{
    private const int TagPopBatch = 256;

    /// <inheritdoc />
    public async ValueTask<bool> RemoveAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        try
        {
            var entryKey = _keys.Entry(key);
            await _guard.RunAsync(static s => DeleteWithLeaseAsync(s.Database, s.EntryKey), (Database, EntryKey: entryKey)).ConfigureAwait(false);
            _local?.Invalidate(entryKey);
            return true;
        }
        catch (Exception ex) when (RedisGuard.IsFailure(ex))
        {
            OnRedisFailure(_metrics.For(key), ex, key, Log.RemoveFailed);
            return false;
        }
    }

    /// <inheritdoc />
    public async ValueTask<long> RemoveByTagAsync(string tag, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag);
        var db = Database;
        var tagKey = _keys.Tag(tag);
        long removed = 0;
        try
        {
            // SPOP takes members out atomically: an entry tagged while this runs stays in the set for the next removal,
            // where deleting the whole set afterwards could drop its membership without removing the entry.
            while (await _guard.RunAsync(static s => s.db.SetPopAsync(s.tagKey, TagPopBatch), (db, tagKey)).ConfigureAwait(false) is { Length: > 0 } members)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var deleted = await Task.WhenAll(members.Select(m => DeleteWithLeaseAsync(db, (string)m!))).ConfigureAwait(false);
                removed += deleted.Count(d => d);
            }

            _local?.InvalidateTag(tag);
            return removed;
        }
        catch (Exception ex) when (RedisGuard.IsFailure(ex))
        {
            OnRedisFailure(_metrics.For(tag), ex, tag, (logger, e, _) => Log.RemoveByTagFailed(logger, e, removed));
            return -1;
        }
    }

    /// <inheritdoc />
    public async ValueTask<long> RemoveByPrefixAsync(string keyPrefix, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyPrefix);
        var pattern = _keys.EntryPattern(keyPrefix);
        var db = Database;
        long removed = 0;
        try
        {
            // Every primary holds a share of the keys on a cluster; a single node is its own only primary.
            foreach (var server in _redis.GetServers().Where(s => !s.IsReplica))
            {
                long cursor = 0;
                do
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var page = (RedisResult[])(await _guard.RunAsync(
                        static s => s.server.ExecuteAsync("SCAN", s.cursor, "MATCH", s.pattern, "COUNT", s.count),
                        (server, cursor, pattern, count: _options.ScanPageSize)).ConfigureAwait(false))!;
                    cursor = long.Parse((string)page[0]!, System.Globalization.CultureInfo.InvariantCulture);
                    // Leases match too, and are deleted with the entries: a load in progress must not write back.
                    var keys = (RedisKey[])page[1]!;
                    var deleted = await Task.WhenAll(keys.Select(k => db.KeyDeleteAsync(k))).ConfigureAwait(false);
                    removed += keys.Where((k, i) => deleted[i] && CacheKeys.IsEntry(k!)).LongCount();
                }
                while (cursor != 0);
            }

            _local?.InvalidatePrefix(_keys.Entry(keyPrefix)[..^1]);
            return removed;
        }
        catch (Exception ex) when (RedisGuard.IsFailure(ex))
        {
            OnRedisFailure(_metrics.For(keyPrefix), ex, keyPrefix, (logger, e, family) => Log.RemoveByPrefixFailed(logger, e, family, removed));
            return -1;
        }
    }

    /// <summary>
    /// Deletes an entry's lease, then the entry (in that order, pipelined). Deleting the lease revokes a load in
    /// progress, whose write-back would otherwise put back a value read before this invalidation; a write-back that
    /// commits before the lease is gone is deleted with the entry. True if the entry existed.
    /// </summary>
    private static async Task<bool> DeleteWithLeaseAsync(IDatabase db, string entryKey)
    {
        var lease = db.KeyDeleteAsync(CacheKeys.Lease(entryKey));
        var entry = db.KeyDeleteAsync(entryKey);
        await Task.WhenAll(lease, entry).ConfigureAwait(false);
        return entry.Result;
    }
}
