namespace CacheFlow.Api.Redis;

/// <summary>What the last check found of the Redis that holds durable data.</summary>
public enum DurableRedisState
{
    /// <summary>Not checked since the start or since its connection failed: it did not answer.</summary>
    Unchecked,

    /// <summary>Every primary keeps every key (no eviction) and an append-only file.</summary>
    Safe,

    /// <summary>A primary can lose accepted writes: it evicts keys when full, or keeps no append-only file.</summary>
    Unsafe,

    /// <summary>A primary refused to say (CONFIG refused or renamed, or a setting not reported).</summary>
    Unverified,
}
