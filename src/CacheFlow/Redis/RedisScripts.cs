namespace CacheFlow.Redis;

/// <summary>
/// The cache's Lua scripts. Each touches only keys with one hash tag (an entry <c>p{k}</c>, its lease
/// <c>p{k}:lease</c> and its revocation marker <c>p{k}:revoked</c>; or one tag's index and removal set), so each
/// runs on a Redis Cluster. Redis 7.0 and Garnet have no <c>SET IFEQ</c>, hence the compare-and-set scripts.
/// Times are the server's (<c>TIME</c>), never a client's clock. A miss's lease is a placeholder in the entry key
/// itself (<see cref="Lease"/>): a marker byte 0xFE and a token, 9 bytes, which the scripts that read an entry
/// tell from an entry by that byte and length.
/// </summary>
internal static class RedisScripts
{
    /// <summary>
    /// Takes the entry's lease key if it is free and returns the entry either way, in one round trip:
    /// <c>{1 if taken else 0, entry or nil}</c>. A miss's placeholder in the entry key is another load's lease: the
    /// lease key is then not taken. KEYS = entry, lease; ARGV = token, lease ms.
    /// </summary>
    public const string Acquire = """
        local entry = redis.call('GET', KEYS[1])
        if entry and #entry == 9 and string.byte(entry, 1) == 254 then return { 0, entry } end
        local taken = redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2])
        return { taken and 1 or 0, entry }
        """;

    /// <summary>
    /// A batch's read (memcache's lease-get) for many keys of one hash slot: for each, the entry, else 1 if its lease
    /// was taken (a placeholder written in the entry key) or 0 if another load holds it. KEYS = entry 1, entry 2, …;
    /// ARGV = lease ms, placeholder 1, placeholder 2, ….
    /// </summary>
    public const string ReadOrLeaseMany = """
        local replies = {}
        for i = 1, #KEYS do
          local entry = redis.call('SET', KEYS[i], ARGV[i + 1], 'NX', 'PX', ARGV[1], 'GET')
          if not entry then replies[i] = 1
          elseif #entry == 9 and string.byte(entry, 1) == 254 then replies[i] = 0
          else replies[i] = entry end
        end
        return replies
        """;

    /// <summary>
    /// <see cref="Fill"/> for many keys of one hash slot: each entry written only while its key holds the load's
    /// placeholder. KEYS = entry 1, entry 2, …; ARGV = placeholder 1, entry 1, time to live ms 1, …. Returns 1 or 0 for each.
    /// </summary>
    public const string FillMany = """
        local replies = {}
        for i = 1, #KEYS do
          if redis.call('GET', KEYS[i]) == ARGV[3 * i - 2] then
            redis.call('SET', KEYS[i], ARGV[3 * i - 1], 'PX', ARGV[3 * i])
            replies[i] = 1
          else replies[i] = 0 end
        end
        return replies
        """;

    /// <summary>
    /// A miss's write-back: writes the entry only while its key still holds the load's placeholder. An invalidation
    /// since the read deleted the placeholder (a write-through replaced it), so the write-back of a value read before
    /// it is refused. KEYS = entry; ARGV = placeholder, entry, time to live ms. Returns 1 if written.
    /// </summary>
    public const string Fill = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
        return 1
        """;

    /// <summary>
    /// A refresh's write-back: writes the entry only while the lease key still holds the loader's token, then frees
    /// the lease. An invalidation since the lease was taken deleted the lease, so the write-back of a value read
    /// before it is refused. KEYS = entry, lease; ARGV = token, entry, time to live ms. Returns 1 if written.
    /// </summary>
    public const string Commit = """
        if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
        redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
        redis.call('DEL', KEYS[2])
        return 1
        """;

    /// <summary>
    /// Write-through: writes the entry unless an invalidation came within the revocation window (its marker is
    /// there), and revokes any load in progress (its value predates this write). A write-through whose database
    /// commit came before an invalidation that reached Redis first would otherwise put the older row back.
    /// KEYS = entry, lease, revocation marker; ARGV = entry, time to live ms. Returns 1 if written.
    /// </summary>
    public const string WriteThrough = """
        if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
        redis.call('DEL', KEYS[2])
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        return 1
        """;

    /// <summary>
    /// An overwrite (HybridCache's <c>SetAsync</c>): revokes any load in progress and writes the entry, whatever
    /// invalidation came before. KEYS = entry, lease; ARGV = entry, time to live ms. Returns 1.
    /// </summary>
    public const string Overwrite = """
        redis.call('DEL', KEYS[2])
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        return 1
        """;

    /// <summary>
    /// Invalidates an entry: revokes the load in progress (deletes its lease), marks the key revoked for the
    /// revocation window (so a write-through that committed earlier cannot land after), deletes the entry.
    /// KEYS = entry, lease, revocation marker; ARGV = window ms. Returns 1 if the entry existed.
    /// </summary>
    public const string Delete = """
        redis.call('DEL', KEYS[2])
        redis.call('SET', KEYS[3], '1', 'PX', ARGV[1])
        return redis.call('DEL', KEYS[1])
        """;

    /// <summary>
    /// Replaces an entry in place if it still holds exactly the bytes the caller read (compare-and-set), keeping its
    /// time to live, revokes any load in progress (its value predates this update), and tells the other instances'
    /// L1s on the invalidation bus: in the script, not as a command of its own, it costs the client no message and
    /// reply of its own per update. KEYS = entry, lease; ARGV = old entry, new entry, bus channel, bus message.
    /// Returns 1 if replaced.
    /// </summary>
    public const string Replace = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
        redis.call('DEL', KEYS[2])
        redis.call('PUBLISH', ARGV[3], ARGV[4])
        return 1
        """;

    /// <summary>
    /// Frees a lease if its key still holds the load's value (compare-and-delete): a placeholder in the entry key, or a
    /// token in the lease key. KEYS = the lease's key; ARGV = its value. Returns 1 if it did.
    /// </summary>
    public const string Release = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """;

    /// <summary>
    /// Revokes the loads in progress of an entry without touching the entry (its value changed in place): the lease
    /// key, and a miss's placeholder in the entry key. KEYS = entry, lease. Returns 1.
    /// </summary>
    public const string Revoke = """
        redis.call('DEL', KEYS[2])
        local entry = redis.call('GET', KEYS[1])
        if entry and #entry == 9 and string.byte(entry, 1) == 254 then redis.call('DEL', KEYS[1]) end
        return 1
        """;

    /// <summary>
    /// Indexes an entry under a tag: a sorted set scored by each member's expiry (server time), so members whose
    /// entries expired are pruned at every add and the index expires with its last entry; its time to live is never
    /// shorter than any member's. The tag's version, if it has one, is kept at least as long as the entry, and returned
    /// (nil if none, which no recorded version matches): a load's write-back compares it with the version it recorded.
    /// KEYS = tag index, tag version; ARGV = entry key, entry time to live ms.
    /// </summary>
    public const string Tag = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local expires = now + tonumber(ARGV[2])
        local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
        if not old or tonumber(old) < expires then
            redis.call('ZADD', KEYS[1], expires, ARGV[1])
        end
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
        local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
        redis.call('PEXPIRE', KEYS[1], math.max(1, tonumber(last[2]) - now))
        local ttl = redis.call('PTTL', KEYS[2])
        if ttl >= 0 and ttl < tonumber(ARGV[2]) then
            redis.call('PEXPIRE', KEYS[2], ARGV[2])
        end
        return redis.call('GET', KEYS[2])
        """;

    /// <summary>
    /// Moves up to ARGV[1] members of a tag's index into its removal set, atomically, and returns them. A member
    /// leaves the removal set only after its entry is deleted, so a removal that fails or is interrupted half-way is
    /// finished by the next one: no member is ever out of both sets while its entry may exist. KEYS = tag index,
    /// removal set; ARGV = count, removal set time to live ms, 1 to use the removal set (0 only in tests' controls).
    /// </summary>
    public const string TakeTagged = """
        local members = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
        for _, member in ipairs(members) do
            if ARGV[3] == '1' then redis.call('SADD', KEYS[2], member) end
            redis.call('ZREM', KEYS[1], member)
        end
        if #members > 0 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
        return members
        """;
}
