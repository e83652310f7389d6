namespace CacheFlow.AspNetCore;

/// <summary>Options of <see cref="CacheFlowOutputCacheStore"/>, the output-cache store over CacheFlow.</summary>
public sealed class CacheFlowOutputCacheOptions
{
    /// <summary>
    /// Put in front of every output-cache key and tag, inside CacheFlow's own <see cref="CacheFlowOptions.KeyPrefix"/>,
    /// so cached responses and the application's own entries never share a key or a tag: the application's
    /// <c>RemoveByTagAsync("users")</c> does not evict responses tagged <c>users</c>, and output caching's
    /// <c>EvictByTagAsync("users")</c> does not remove the application's entries. It also makes the key family of
    /// every cached response (in <c>/cache/stats</c> and the metrics) the prefix's first segment. Set it to the empty
    /// string to share keys and tags with the application on purpose.
    /// </summary>
    /// <value>The default value is <c>output-cache:</c>.</value>
    public string Prefix { get; set; } = "output-cache:";
}
