namespace CacheFlow;

/// <summary>Lua scripts for tag indexes. Each touches one key, so each runs on a Redis Cluster.</summary>
internal static class TagScripts
{
    /// <summary>
    /// Adds a member to a tag's set and extends the set's time to live to at least the member's, never
    /// shortening it: the index must outlive every entry it lists, or removal by tag would miss one.
    /// KEYS[1] = the tag set, ARGV[1] = the entry key, ARGV[2] = the entry's time to live in ms.
    /// </summary>
    public const string Add = """
        redis.call('SADD', KEYS[1], ARGV[1])
        if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
            redis.call('PEXPIRE', KEYS[1], ARGV[2])
        end
        return 1
        """;
}
