using StackExchange.Redis;

namespace CacheFlow.Redis;

/// <summary>Thrown instead of calling Redis while the circuit breaker is open (after repeated failures).</summary>
public sealed class RedisCircuitOpenException : RedisException
{
    /// <summary>Creates the exception.</summary>
    public RedisCircuitOpenException()
        : base("Redis calls are paused after repeated failures (circuit breaker open).")
    {
    }
}
