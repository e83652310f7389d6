using StackExchange.Redis;

namespace CacheFlow.Api.Redis;

/// <summary>
/// Thrown instead of writing durable data to a Redis that can lose it (or that has not been checked yet). A
/// <see cref="RedisException"/>, as the breaker's refusal is, so the durable paths take the fallback they take when
/// Redis is unavailable: the write goes to the database.
/// </summary>
public sealed class DurableDataRefusedException : RedisException
{
    /// <summary>Creates the exception for what the last check found.</summary>
    /// <param name="verdict">The verdict that refuses durable writes.</param>
    public DurableDataRefusedException(DurableRedisVerdict verdict)
        : base($"Durable data is not written to a Redis that can lose it ({verdict.State}): {string.Join("; ", verdict.Problems)}")
    {
        Verdict = verdict;
    }

    /// <summary>The verdict that refused the write.</summary>
    public DurableRedisVerdict Verdict { get; }
}
