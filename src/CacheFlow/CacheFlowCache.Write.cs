using StackExchange.Redis;

namespace CacheFlow;

public sealed partial class CacheFlowCache
{
    /// <summary>
    /// Writes a freshly loaded or set value with its expiries (jittered), tags first. With a token the write is the
    /// lease-checked commit; without one it is a write-through that revokes any load in progress. Returns true if
    /// written, false if the lease was lost, null if Redis failed.
    /// </summary>
    private Task<bool?> WriteAsync(string key, FamilyCounters counters, Loaded loaded, CacheEntryOptions options, int loadMilliseconds, long? token)
    {
        var isNull = loaded.Kind == LoadedKind.Null;
        var fresh = isNull ? NullDuration(options) : Jittered(options.Duration ?? _options.DefaultDuration);
        var stale = isNull ? TimeSpan.Zero : options.StaleDuration ?? _options.DefaultStaleDuration;
        var soft = NowMs + (long)fresh.TotalMilliseconds;
        var header = new CacheEntry(
            isNull ? CacheEntryFlags.Null : CacheEntryFlags.None, soft, soft + (long)stale.TotalMilliseconds, loadMilliseconds,
            token ?? Random.Shared.NextInt64(1, long.MaxValue));
        return WriteEntryAsync(key, counters, loaded.Entry, header, fresh + stale, options, token);
    }

    private async Task<bool?> WriteEntryAsync(string key, FamilyCounters counters, Memory<byte> entry, CacheEntry header, TimeSpan ttl, CacheEntryOptions options, long? token)
    {
        header.WriteHeader(entry.Span);
        var entryKey = _keys.Entry(key);
        var ttlMs = Math.Max(1, (long)ttl.TotalMilliseconds);
        var stamp = _local?.Stamp(entryKey, options.Tags);
        try
        {
            var written = await _guard.RunAsync(static s => s.Cache.WriteCoreAsync(s.EntryKey, s.Entry, s.TtlMs, s.Tags, s.Token),
                (Cache: this, EntryKey: entryKey, Entry: entry, TtlMs: ttlMs, Tags: options.Tags, Token: token)).ConfigureAwait(false);
            if (written == true && _local is not null && stamp is { } before)
            {
                if (BeforeLocalStore is { } hook)
                    await hook(key).ConfigureAwait(false);
                _local.SetWritten(entryKey, new StoredEntry(header, entry), options, before);
            }

            return written;
        }
        catch (Exception ex) when (RedisGuard.IsFailure(ex))
        {
            OnRedisFailure(counters, ex, key, Log.WriteFailed);
            return null;
        }
    }

    private async Task<bool?> WriteCoreAsync(string entryKey, Memory<byte> entry, long ttlMs, IReadOnlyList<string> tags, long? token)
    {
        var db = Database;
        // Sent in order on one connection: tag indexes first, so an entry is never in Redis without its index.
        var writes = new List<Task>(tags.Count + 2);
        foreach (var tag in tags)
            writes.Add(db.ScriptEvaluateAsync(Scripts.Tag, [_keys.Tag(tag)], [entryKey, ttlMs]));
        Task<RedisResult>? commit = null;
        Task<bool>? set = null;
        if (token is { } t && Leases)
        {
            commit = db.ScriptEvaluateAsync(Scripts.Commit, [entryKey, CacheKeys.Lease(entryKey)], [t, entry, ttlMs]);
            writes.Add(commit);
        }
        else
        {
            // Write-through: the lease is deleted before the SET, so a load that read the source before this write
            // can no longer commit over it; a load that commits before the DEL is overwritten by the SET.
            if (token is null && Leases)
                writes.Add(db.KeyDeleteAsync(CacheKeys.Lease(entryKey)));
            set = db.StringSetAsync(entryKey, entry, TimeSpan.FromMilliseconds(ttlMs));
            writes.Add(set);
        }

        await Task.WhenAll(writes).ConfigureAwait(false);
        return commit is not null ? (int)commit.Result == 1 : set!.Result;
    }

    private TimeSpan Jittered(TimeSpan duration) =>
        _options.JitterPercent <= 0 ? duration : duration * (1 + (_options.JitterPercent / 100 * ((2 * Random.NextDouble()) - 1)));
}
