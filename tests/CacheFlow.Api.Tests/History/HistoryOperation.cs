namespace CacheFlow.Api.Tests.History;

/// <summary>
/// One operation of a recorded history: a write of a version, or a read that saw one. Times are offsets on one
/// monotonic clock shared by every worker (<see cref="System.Diagnostics.Stopwatch"/>), taken just before the request
/// was sent and just after its answer arrived.
/// </summary>
/// <param name="IsWrite">A write (PATCH) rather than a read (GET).</param>
/// <param name="Instance">Which API instance served it.</param>
/// <param name="Key">The user id.</param>
/// <param name="Version">
/// For a write, the version written, only if it was acknowledged (2xx); for a read, the version read, if it answered
/// 200. Null otherwise.
/// </param>
/// <param name="Start">When the request was sent.</param>
/// <param name="End">When the answer arrived.</param>
/// <param name="Status">The HTTP status; 0 if the request threw.</param>
/// <param name="XCache">For a read, <c>X-Cache</c> (with <c>X-Cache-Level</c> on a hit: <c>HIT/L1</c>, <c>HIT/L2</c>).</param>
public sealed record HistoryOperation(bool IsWrite, int Instance, long Key, long? Version, TimeSpan Start, TimeSpan End, int Status, string? XCache = null)
{
    /// <summary>An acknowledged write of <paramref name="version"/> (status 200).</summary>
    public static HistoryOperation Write(long key, long version, TimeSpan start, TimeSpan end, int instance = 0) =>
        new(true, instance, key, version, start, end, 200);

    /// <summary>A read that answered 200 with <paramref name="version"/>.</summary>
    public static HistoryOperation Read(long key, long version, TimeSpan start, TimeSpan end, int instance = 0, string xCache = "HIT") =>
        new(false, instance, key, version, start, end, 200, xCache);

    /// <summary>A write the API acknowledged: it committed, so every read that starts afterwards must see it or a later one.</summary>
    public bool Acknowledged => IsWrite && Version is not null && Status is >= 200 and < 300;

    /// <summary>A server error, or a request that threw.</summary>
    public bool Failed => Status is 0 or >= 500;
}
