namespace CacheFlow.AspNetCore;

/// <summary>The response headers that say how the cache answered.</summary>
public static class CacheHeaders
{
    /// <summary>The header name: <c>X-Cache</c>, with the values HIT, MISS, STALE or BYPASS.</summary>
    public const string XCache = "X-Cache";

    /// <summary>On a hit, which level answered: <c>L1</c> (in-process) or <c>L2</c> (Redis).</summary>
    public const string XCacheLevel = "X-Cache-Level";

    /// <summary>The <c>X-Cache</c> value of an outcome.</summary>
    /// <param name="outcome">How the cache answered.</param>
    public static string Value(CacheOutcome outcome) => outcome switch
    {
        CacheOutcome.Hit => "HIT",
        CacheOutcome.Miss => "MISS",
        CacheOutcome.Stale => "STALE",
        CacheOutcome.Bypass => "BYPASS",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, null),
    };
}
