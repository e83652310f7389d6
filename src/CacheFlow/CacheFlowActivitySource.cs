namespace CacheFlow;

/// <summary>
/// The <see cref="System.Diagnostics.ActivitySource"/> CacheFlow traces with: add it to OpenTelemetry with
/// <c>AddSource(CacheFlowActivitySource.Name)</c>. A hit records no span; the work a hit saves does:
/// <list type="bullet">
/// <item><c>cacheflow miss</c>: a read that found no usable value, until it has one (its own load, or another caller's),
/// with <c>cacheflow.outcome</c>; <c>cacheflow bypass</c> instead when the read goes to the source without the cache
/// (<c>cacheflow.bypass.reason</c>: <c>redis_unavailable</c>, <c>invalidation_pending</c>);</item>
/// <item><c>cacheflow load</c>: a factory call (<c>cacheflow.batch.size</c> for a batch's one call);</item>
/// <item><c>cacheflow lease wait</c>: waiting for another loader's lease, in this process or another, with
/// <c>cacheflow.lease.result</c> (<c>value</c>, <c>lease</c>, <c>gave_up</c>, <c>redis_failed</c>);</item>
/// <item><c>cacheflow commit</c>: the lease-checked write-back, with <c>cacheflow.commit.result</c> (<c>written</c>,
/// <c>lease_lost</c> when an invalidation revoked the lease, <c>released</c> when there was nothing to cache,
/// <c>failed</c>);</item>
/// <item><c>cacheflow invalidate</c>: a removal by key, tag or prefix (<c>cacheflow.invalidation.kind</c>), with the
/// entries removed (<c>cacheflow.invalidation.removed</c>), or <c>cacheflow.invalidation.pending</c> when Redis did not
/// take it and it is kept for a retry (<c>cacheflow.invalidation.retry</c> marks the retries).</item>
/// </list>
/// The spans of one key's read carry its key family (<c>cacheflow.key.family</c>, as the metrics name it; never the key,
/// which may hold personal data), and every span <c>cacheflow.cache.name</c> for a keyed cache. A failed span has the error status and
/// OpenTelemetry's <c>error.type</c>. With no listener, nothing is allocated.
/// </summary>
public static class CacheFlowActivitySource
{
    /// <summary>The activity source's name: <c>CacheFlow</c>.</summary>
    public const string Name = "CacheFlow";
}
