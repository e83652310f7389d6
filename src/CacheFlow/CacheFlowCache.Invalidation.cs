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
            await Database.KeyDeleteAsync(_keys.Entry(key)).ConfigureAwait(false);
            return true;
        }
        catch (RedisException ex)
        {
            _metrics.For(key).AddError();
            Log.RemoveFailed(_logger, ex, KeyFamily.Of(key).ToString());
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
            while (await db.SetPopAsync(tagKey, TagPopBatch).ConfigureAwait(false) is { Length: > 0 } members)
            {
                cancellationToken.ThrowIfCancellationRequested();
                removed += await DeleteAsync(db, members.Select(m => (RedisKey)(string)m!)).ConfigureAwait(false);
            }

            return removed;
        }
        catch (RedisException ex)
        {
            _metrics.For(tag).AddError();
            Log.RemoveByTagFailed(_logger, ex, removed);
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
                    var page = (RedisResult[])(await server.ExecuteAsync("SCAN", cursor, "MATCH", pattern, "COUNT", _options.ScanPageSize).ConfigureAwait(false))!;
                    cursor = long.Parse((string)page[0]!, System.Globalization.CultureInfo.InvariantCulture);
                    removed += await DeleteAsync(db, (RedisKey[])page[1]!).ConfigureAwait(false);
                }
                while (cursor != 0);
            }

            return removed;
        }
        catch (RedisException ex)
        {
            _metrics.For(keyPrefix).AddError();
            Log.RemoveByPrefixFailed(_logger, ex, KeyFamily.Of(keyPrefix).ToString(), removed);
            return -1;
        }
    }

    /// <summary>Deletes keys one command each, pipelined: keys in different cluster slots cannot share a DEL.</summary>
    private static async Task<long> DeleteAsync(IDatabase db, IEnumerable<RedisKey> keys)
    {
        var deleted = await Task.WhenAll(keys.Select(k => db.KeyDeleteAsync(k))).ConfigureAwait(false);
        return deleted.Count(d => d);
    }
}
