using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Caching.Hybrid;

namespace CacheFlow;

/// <summary>Options of CacheFlow's <see cref="HybridCache"/> (<see cref="CacheFlowHybridCache"/>), as <c>HybridCacheOptions</c> names them.</summary>
public sealed class CacheFlowHybridCacheOptions
{
    /// <summary>
    /// The options of calls that give none. A field left unset falls back to CacheFlow's own defaults:
    /// <see cref="CacheFlowOptions.DefaultDuration"/> for the expiration and <see cref="CacheFlowOptions.LocalMaxAge"/> for the L1.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public HybridCacheEntryOptions? DefaultEntryOptions { get; set; }

    /// <summary>The longest serialized value that is cached; a longer one is returned to its caller and not cached.</summary>
    /// <value>The default value is 1 MiB.</value>
    [Range(1, int.MaxValue)]
    public int MaximumPayloadBytes { get; set; } = 1 << 20;

    /// <summary>The longest key that is cached; a call with a longer key runs its factory and caches nothing.</summary>
    /// <value>The default value is 1,024 characters.</value>
    [Range(1, int.MaxValue)]
    public int MaximumKeyLength { get; set; } = 1024;
}
