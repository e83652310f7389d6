namespace CacheFlow;

/// <summary>How one entry is cached. An instance can be shared by many calls; it is never mutated by the cache.</summary>
public sealed class CacheEntryOptions
{
    /// <summary>How long the entry lives in Redis. Every entry has a time to live.</summary>
    /// <value>The default value is <see langword="null"/>: <see cref="CacheFlowOptions.DefaultDuration"/> applies.</value>
    public TimeSpan? Duration { get; init; }

    /// <summary>
    /// Tags the entry carries; <see cref="ICacheFlow.RemoveByTagAsync"/> removes every entry with a tag
    /// (for example every cached page of a list).
    /// </summary>
    /// <value>The default value is an empty list.</value>
    public IReadOnlyList<string> Tags { get; init; } = [];
}
