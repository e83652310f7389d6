namespace CacheFlow.WriteBehind;

/// <summary>
/// The queue's Lua scripts. A queue's lists and sets share one hash tag (<c>{wb:name}</c>), so each script touches
/// one cluster slot and moves a write between lists atomically: a write is always in exactly one place.
/// </summary>
internal static class WriteBehindScripts
{
    /// <summary>
    /// Records the consumer's heartbeat, puts retries that are due back on the queue, and moves up to ARGV[1] writes
    /// from the queue to the consumer's processing list (oldest first). KEYS = pending, processing, retry, consumers;
    /// ARGV = max, now ms, consumer id.
    /// </summary>
    public const string Take = """
        redis.call('ZADD', KEYS[4], ARGV[2], ARGV[3])
        local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[2], 'LIMIT', 0, 100)
        for _, write in ipairs(due) do
            redis.call('ZREM', KEYS[3], write)
            redis.call('LPUSH', KEYS[1], write)
        end
        local taken = {}
        for i = 1, tonumber(ARGV[1]) do
            local write = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')
            if not write then break end
            taken[#taken + 1] = write
        end
        return taken
        """;

    /// <summary>Moves a write from a processing list to the retry set, due at ARGV[3]. KEYS = processing, retry; ARGV = old, new, due ms.</summary>
    public const string Retry = """
        redis.call('LREM', KEYS[1], 1, ARGV[1])
        redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
        return 1
        """;

    /// <summary>Moves a write from a list (processing or dead) to the front of another (dead or pending). KEYS = from, to; ARGV = old, new.</summary>
    public const string Move = """
        if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
        redis.call('LPUSH', KEYS[2], ARGV[2])
        return 1
        """;

    /// <summary>
    /// Returns every write of a consumer's processing list to the queue (to be taken again first) and forgets the
    /// consumer. KEYS = processing, pending, consumers; ARGV = consumer id. Returns how many writes moved.
    /// </summary>
    public const string Release = """
        local moved = 0
        while redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT') do moved = moved + 1 end
        redis.call('ZREM', KEYS[3], ARGV[1])
        return moved
        """;
}
