namespace CacheFlow;

/// <summary>How one entry is cached. An instance can be shared by many calls; it is never mutated by the cache.</summary>
public sealed class CacheEntryOptions
{
    /// <summary>How long the entry is fresh (its soft expiry). Every entry has a time to live.</summary>
    /// <value>The default value is <see langword="null"/>: <see cref="CacheFlowOptions.DefaultDuration"/> applies.</value>
    public TimeSpan? Duration { get; init; }

    /// <summary>
    /// How long past its soft expiry the entry may still be served as stale (<see cref="CacheOutcome.Stale"/>) while one
    /// caller refreshes it in the background, or when the source fails (fail-safe). The Redis time to live is
    /// <see cref="Duration"/> plus this.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: <see cref="CacheFlowOptions.DefaultStaleDuration"/> applies.</value>
    public TimeSpan? StaleDuration { get; init; }

    /// <summary>
    /// The ± spread of this entry's freshness, in percent of <see cref="Duration"/>; zero for an entry that must expire
    /// exactly when it says (an HTTP response cached for a stated time, say).
    /// </summary>
    /// <value>The default value is <see langword="null"/>: <see cref="CacheFlowOptions.JitterPercent"/> applies.</value>
    public double? JitterPercent { get; init; }

    /// <summary>How long a null result ("not found") is cached; zero caches nulls not at all.</summary>
    /// <value>The default value is <see langword="null"/>: <see cref="CacheFlowOptions.DefaultNullDuration"/> applies.</value>
    public TimeSpan? NullDuration { get; init; }

    /// <summary>
    /// How long a caller that finds a stale entry waits for the refresh before it is served the stale value. Zero
    /// serves the stale value at once (stale-while-revalidate); the refresh goes on in the background either way.
    /// </summary>
    /// <value>The default value is zero.</value>
    public TimeSpan FactorySoftTimeout { get; init; }

    /// <summary>How long the L1 may keep the entry (capped by <see cref="CacheFlowOptions.LocalMaxAge"/>).</summary>
    /// <value>The default value is <see langword="null"/>: the maximum age applies.</value>
    public TimeSpan? LocalDuration { get; init; }

    /// <summary>
    /// Tags the entry carries; <see cref="ICacheFlow.RemoveByTagAsync"/> removes every entry with a tag
    /// (for example every cached page of a list).
    /// </summary>
    /// <value>The default value is an empty list.</value>
    public IReadOnlyList<string> Tags { get; init; } = [];
}
