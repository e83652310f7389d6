namespace CacheFlow;

/// <summary>Where the value of a cache read came from; the API reports it as the <c>X-Cache</c> header.</summary>
public enum CacheOutcome
{
    /// <summary>The value was found in the cache and is fresh.</summary>
    Hit,

    /// <summary>The value was not in the cache; the factory loaded it and the cache now holds it.</summary>
    Miss,

    /// <summary>The value is past its soft expiry and was served while a refresh runs (or the source failed).</summary>
    Stale,

    /// <summary>The cache could not be reached; the factory loaded the value and nothing was cached.</summary>
    Bypass,
}
