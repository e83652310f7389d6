using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.OutputCaching;
using Microsoft.Extensions.Options;

namespace CacheFlow.AspNetCore;

/// <summary>
/// An ASP.NET Core output-cache store over <see cref="ICacheFlow"/>: responses are entries of the cache, output-cache
/// tags are CacheFlow tags, so <see cref="EvictByTagAsync"/> in one instance evicts for every instance sharing the Redis
/// (and their L1s, if on, through the invalidation bus). Each response expires exactly when output caching says
/// (no jitter, no stale period). Redis failures never reach the request: a read that fails is a miss, a write
/// or an eviction that fails is logged and counted by the cache (an eviction is kept and retried, and until it
/// is applied this instance serves no cached response).
/// </summary>
/// <param name="cache">The cache the responses are stored in.</param>
/// <param name="options">Where the store's keys and tags live.</param>
public sealed class CacheFlowOutputCacheStore(ICacheFlow cache, IOptions<CacheFlowOutputCacheOptions> options) : IOutputCacheBufferStore
{
    private readonly string _prefix = options.Value.Prefix;

    /// <inheritdoc />
    public async ValueTask<byte[]?> GetAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        var cached = await cache.GetRawAsync(_prefix + key, cancellationToken).ConfigureAwait(false);
        return cached is { IsNull: false } entry ? entry.Json.ToArray() : null;
    }

    /// <inheritdoc />
    public async ValueTask<bool> TryGetAsync(string key, PipeWriter destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(destination);
        if (await cache.GetRawAsync(_prefix + key, cancellationToken).ConfigureAwait(false) is not { IsNull: false } entry)
            return false;
        await destination.WriteAsync(entry.Json, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <inheritdoc />
    public ValueTask SetAsync(string key, byte[] value, string[]? tags, TimeSpan validFor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(value);
        return SetCoreAsync(key, value, Prefixed(tags), validFor, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask SetAsync(string key, ReadOnlySequence<byte> value, ReadOnlyMemory<string> tags, TimeSpan validFor, CancellationToken cancellationToken) =>
        // The middleware hands one segment: stored as it is (the cache copies it once, behind its header).
        SetCoreAsync(key, value.IsSingleSegment ? value.First : value.ToArray(), Prefixed(tags.Span), validFor, cancellationToken);

    /// <inheritdoc />
    public async ValueTask EvictByTagAsync(string tag, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tag);
        await cache.RemoveByTagAsync(_prefix + tag, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask SetCoreAsync(string key, ReadOnlyMemory<byte> value, string[] tags, TimeSpan validFor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (validFor <= TimeSpan.Zero)
            return;
        var entry = new CacheEntryOptions
        {
            Duration = validFor,
            StaleDuration = TimeSpan.Zero,
            JitterPercent = 0,
            Tags = tags,
        };
        await cache.SetRawAsync(_prefix + key, value, entry, cancellationToken).ConfigureAwait(false);
    }

    /// <exception cref="ArgumentException">A tag is null, as ASP.NET Core's own stores refuse it.</exception>
    private string[] Prefixed(ReadOnlySpan<string> tags)
    {
        if (tags.IsEmpty)
            return [];
        var prefixed = new string[tags.Length];
        for (var i = 0; i < tags.Length; i++)
            prefixed[i] = _prefix + (tags[i] ?? throw new ArgumentException("A tag cannot be null.", nameof(tags)));
        return prefixed;
    }
}
