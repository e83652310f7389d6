using CacheFlow.Logging;
using CacheFlow.Redis;

namespace CacheFlow;

public sealed partial class CacheFlowCache
{
    /// <inheritdoc />
    public async ValueTask<CacheResult?> GetRawAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        cancellationToken.ThrowIfCancellationRequested();
        if (LocalHit(key) is { } local)
            return local.Stored.Result(CacheOutcome.Hit) with { FromLocal = true };
        var counters = _metrics.For(key);

        var entryKey = _keys.Entry(key);

        // The entry's tags are not known before it is read, so any pending tag invalidation may cover it.
        if (_pending.MayCover(entryKey))
        {
            counters.AddBypass();
            return null;
        }

        try
        {
            // Not copied into the L1: a copy must be stamped with its tags, which a read without options does not know.
            // A tagged entry is checked against its tags' versions (a second round trip: the caller did not name them).
            if (await _store.GetCheckedAsync(entryKey).ConfigureAwait(false) is { } stored && stored.At(NowMs) == Freshness.Fresh)
            {
                counters.AddHit();
                return stored.Result(CacheOutcome.Hit);
            }
        }
        catch (Exception ex) when (RedisGuard.IsFailure(ex))
        {
            OnRedisFailure(counters, ex, Log.ReadFailed);
            counters.AddBypass();
            return null;
        }

        counters.AddMiss();
        return null;
    }

    /// <inheritdoc />
    public async ValueTask<bool> SetRawAsync(string key, ReadOnlyMemory<byte> value, CacheEntryOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        cancellationToken.ThrowIfCancellationRequested();
        var loaded = new Loaded(WithHeaderRoom(value), LoadedKind.Value);
        return await WriteAsync(key, _metrics.For(key), loaded, options ?? DefaultEntryOptions, loadMilliseconds: 0, lease: null).ConfigureAwait(false) == Verdict.Done;
    }
}
