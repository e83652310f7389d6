namespace CacheFlow;

/// <summary>
/// The cache's Lua scripts. Each touches only keys with one hash tag (an entry <c>p{k}</c> and its lease
/// <c>p{k}:lease</c>, or one tag set), so each runs on a Redis Cluster. Redis 7.0 and Garnet have no
/// <c>SET IFEQ</c>, hence the compare-and-set scripts.
/// </summary>
internal static class Scripts
{
    /// <summary>
    /// Takes the lease if it is free and returns the entry either way, in one round trip:
    /// <c>{1 if taken else 0, entry or nil}</c>. KEYS = entry, lease; ARGV = token, lease ms.
    /// </summary>
    public const string Acquire = """
        local taken = redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2])
        return { taken and 1 or 0, redis.call('GET', KEYS[1]) }
        """;

    /// <summary>
    /// Writes the entry only while the lease still holds the loader's token, then frees the lease. An invalidation
    /// since the lease was taken deleted the lease, so the write-back of a value read before it is refused.
    /// KEYS = entry, lease; ARGV = token, entry, time to live ms. Returns 1 if written.
    /// </summary>
    public const string Commit = """
        if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
        redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
        redis.call('DEL', KEYS[2])
        return 1
        """;

    /// <summary>
    /// Replaces an entry in place if it still holds exactly the bytes the caller read (compare-and-set), keeping its
    /// time to live, and revokes any load in progress (its value predates this update). KEYS = entry, lease;
    /// ARGV = old entry, new entry. Returns 1 if replaced.
    /// </summary>
    public const string Replace = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
        redis.call('DEL', KEYS[2])
        return 1
        """;

    /// <summary>Frees the lease if it still holds the token (compare-and-delete). KEYS = lease; ARGV = token. Returns 1 if it did.</summary>
    public const string Release = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """;

    /// <summary>
    /// Adds a member to a tag's set and extends the set's time to live to at least the member's, never
    /// shortening it: the index must outlive every entry it lists, or removal by tag would miss one.
    /// KEYS = tag set; ARGV = entry key, entry time to live ms.
    /// </summary>
    public const string Tag = """
        redis.call('SADD', KEYS[1], ARGV[1])
        if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
            redis.call('PEXPIRE', KEYS[1], ARGV[2])
        end
        return 1
        """;
}
