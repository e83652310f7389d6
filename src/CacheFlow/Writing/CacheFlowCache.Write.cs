using CacheFlow.Invalidation;
using CacheFlow.Logging;
using CacheFlow.Metrics;
using CacheFlow.Redis;
using StackExchange.Redis;

namespace CacheFlow;

public sealed partial class CacheFlowCache
{
    /// <summary>
    /// Writes a freshly loaded or set value with its expiries (jittered), tags first. With a token the write is the
    /// lease-checked commit; without one it is a write-through that revokes any load in progress. Refused if the lease
    /// was lost, or an invalidation came just before; failed if Redis did.
    /// </summary>
    private Task<Verdict> WriteAsync(
        string key, FamilyCounters counters, Loaded loaded, CacheEntryOptions options, int loadMilliseconds, Lease? lease, EntryPaths paths = EntryPaths.All,
        bool overwrite = false, IReadOnlyList<long>? tagVersions = null)
    {
        var header = NewHeader(loaded, options, loadMilliseconds, lease, out var ttl);
        return WriteEntryAsync(key, counters, loaded.Entry, header, ttl, options, lease, paths, overwrite, tagVersions);
    }

    /// <summary>The header of a freshly loaded or set value: its expiries (jittered) from now, and its version.</summary>
    private CacheEntry NewHeader(Loaded loaded, CacheEntryOptions options, int loadMilliseconds, Lease? lease, out TimeSpan ttl)
    {
        var isNull = loaded.Kind == LoadedKind.Null;
        var fresh = isNull ? NullDuration(options) : Jittered(options.Duration ?? _options.DefaultDuration, options.JitterPercent ?? _options.JitterPercent);
        var stale = isNull ? TimeSpan.Zero : options.StaleDuration ?? _options.DefaultStaleDuration;
        var soft = NowMs + (long)fresh.TotalMilliseconds;
        ttl = fresh + stale;
        return new CacheEntry(
            isNull ? CacheEntryFlags.Null : CacheEntryFlags.None, soft, soft + (long)stale.TotalMilliseconds, loadMilliseconds,
            lease?.Token ?? Lease.NewToken());
    }

    /// <summary>
    /// Writes an entry, then keeps it in this instance's L1 (if the paths allow) and, for a write-through, drops the
    /// other instances' copies.
    /// An <paramref name="overwrite"/> write-through is not refused within the revocation window (HybridCache's
    /// <c>SetAsync</c>: the value set is the value cached). A write-through Redis does not take is still kept in this
    /// instance's L1: it is the newest value here, and the removal kept pending for Redis drops it when applied.
    /// A tagged entry is written with its tags' versions (<see cref="EntryTags"/>): a load's, taken before it read the
    /// source (<paramref name="tagVersions"/>); a write-through's, taken now. An entry that has them already (a
    /// fail-safe rewrite of a stale one) keeps its own.
    /// </summary>
    private async Task<Verdict> WriteEntryAsync(
        string key, FamilyCounters counters, Memory<byte> entry, CacheEntry header, TimeSpan ttl, CacheEntryOptions options, Lease? lease,
        EntryPaths paths = EntryPaths.All, bool overwrite = false, IReadOnlyList<long>? tagVersions = null)
    {
        var write = StartWrite(key, entry, header, options);
        try
        {
            if (WritesOneScript(options, lease, overwrite))
            {
                // One script, awaited here as on the read path: no state machine but this one's. Awaited before the
                // call, not among its arguments, which would be copied into the state machine (CacheFlowCache.Miss).
                var landed = (int)await BeginWrite(write, ttl, lease, overwrite).ConfigureAwait(false) == 1;
                return Written(write, options, lease, paths, landed);
            }

            if (options.Tags.Count > 0 && _store.TagVersions && header.TagsLength == 0)
            {
                tagVersions ??= lease is null ? await _store.TakeTagVersionsAsync(options.Tags).ConfigureAwait(false) : null;
                if (tagVersions is not null)
                {
                    entry = EntryTags.Append(entry, options.Tags, tagVersions, out var length);
                    header = header with { TagsLength = length };
                    header.WriteHeader(entry.Span);
                    write = write with { Stored = new StoredEntry(header, entry) };
                }
            }

            var written = await _store.WriteAsync(write.EntryKey, entry, TtlMs(ttl), options.Tags, lease, overwrite, tagVersions).ConfigureAwait(false);
            return Written(write, options, lease, paths, written);
        }
        catch (Exception ex) when (RedisGuard.IsFailure(ex))
        {
            return WriteFailed(write, options, lease, paths, counters, ex);
        }
    }

    /// <summary>An entry write about to be sent: its header written, and the L1's stamp taken before it is.</summary>
    private EntryWrite StartWrite(string key, Memory<byte> entry, CacheEntry header, CacheEntryOptions options)
    {
        header.WriteHeader(entry.Span);
        return new EntryWrite(key, _keys.Entry(key), new StoredEntry(header, entry), _local?.Stamp(key, options.Tags));
    }

    /// <summary>
    /// An untagged write's one script, sent, for its caller to await in its own state machine (as the read is). Only
    /// where <see cref="WritesOneScript"/>; elsewhere (tags, or tests' controls) the write is <see cref="WriteEntryAsync"/>'s.
    /// </summary>
    private ValueTask<RedisResult> BeginWrite(in EntryWrite write, TimeSpan ttl, Lease? lease, bool overwrite = false) =>
        _store.BeginWrite(write.EntryKey, write.Stored.Bytes, TtlMs(ttl), lease, overwrite);

    /// <summary>Whether an entry's write is one script (<see cref="BeginWrite"/>): untagged, with the protections on.</summary>
    private bool WritesOneScript(CacheEntryOptions options, Lease? lease, bool overwrite = false) =>
        options.Tags.Count == 0 && _store.WritesByScript(lease, overwrite);

    /// <summary>
    /// A write Redis answered: if it landed, a write-through drops the other instances' copies (a load's write-back
    /// tells no one: the invalidation that made it a miss already did, and a copy elsewhere expires with its entry),
    /// and this instance's L1 keeps the value if the paths allow.
    /// </summary>
    private Verdict Written(in EntryWrite write, CacheEntryOptions options, Lease? lease, EntryPaths paths, bool written)
    {
        if (!written)
            return Verdict.Refused;
        if (lease is null)
            _bus.PublishKey(write.EntryKey);
        if (_local is not null && write.Stamp is { } before)
            KeepLocal(write.Key, write.Stored, options, before, lease, paths);
        return Verdict.Done;
    }

    /// <summary>A write Redis failed (or may not have taken): what is left is made safe.</summary>
    private Verdict WriteFailed(in EntryWrite write, CacheEntryOptions options, Lease? lease, EntryPaths paths, FamilyCounters counters, Exception ex)
    {
        OnRedisFailure(counters, ex, Log.WriteFailed);
        // A write-back that did not get through leaves its lease: released once Redis answers, so that readers of
        // the key, here and elsewhere, need not wait for it to run out.
        if (lease is { } held)
            _abandoned.Add(held);
        else
        {
            // A write-through that did not land leaves the value before the write in Redis (or in flight to it,
            // if Redis hangs): it is removed as soon as Redis answers, and reads here bypass it meanwhile.
            KeepPending(InvalidationKind.Key, write.EntryKey);
            if (_local is not null && write.Stamp is { } before && paths.HasFlag(EntryPaths.LocalWrite))
                _local.SetWritten(write.Key, write.Stored, options, before);
        }

        return Verdict.Failed;
    }

    private static long TtlMs(TimeSpan ttl) => Math.Max(1, (long)ttl.TotalMilliseconds);

    /// <summary>One entry write: the key, what is written, and the L1's stamp taken before it was sent.</summary>
    private readonly record struct EntryWrite(string Key, string EntryKey, StoredEntry Stored, long? Stamp);

    /// <summary>
    /// After a write landed, this instance's L1 keeps the value if the paths allow: a write-through's unless another
    /// invalidation came since <paramref name="before"/>, a load's write-back stamped as of before the write.
    /// </summary>
    private void KeepLocal(string key, StoredEntry stored, CacheEntryOptions options, long before, Lease? lease, EntryPaths paths)
    {
        if (!paths.HasFlag(EntryPaths.LocalWrite))
            _local!.Drop(key);
        else if (lease is null)
            _local!.SetWritten(key, stored, options, before);
        else
            _local!.Set(key, stored, options, before);
    }

    private TimeSpan Jittered(TimeSpan duration, double percent) =>
        percent <= 0 ? duration : duration * (1 + (percent / 100 * ((2 * Random.Shared.NextDouble()) - 1)));
}
