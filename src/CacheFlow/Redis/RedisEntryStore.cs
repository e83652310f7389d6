using System.Globalization;
using CacheFlow.Invalidation;
using StackExchange.Redis;

namespace CacheFlow.Redis;

/// <summary>
/// The Redis side of the cache, in one place: the key layout, every script, the guard (timeout and circuit breaker)
/// and so the classification of failures. The policy code (fresh, stale, fail-safe, flights, the L1) asks the store
/// and never touches a client. Every method throws what the guard lets through: a failure that
/// <see cref="RedisGuard.IsFailure"/> recognizes, to be handled by the caller (bypass, keep pending, fail-safe).
/// </summary>
/// <remarks>
/// The lease protocol (Facebook's memcache leases, NSDI 2013), as the methods below carry it out:
/// <list type="number">
/// <item>A miss takes the key's lease with a random token (<see cref="AcquireAsync"/>) and loads; other callers,
/// in any process, wait for its value instead of loading.</item>
/// <item>The load writes back only while the lease still holds its token (<see cref="WriteAsync"/> with the token).</item>
/// <item>An invalidation deletes the lease before the entry (<see cref="DeleteAsync"/>): a load that read the source
/// before the change can no longer write back, so no stale value is set after an invalidation.</item>
/// <item>A write-through (<see cref="WriteAsync"/> without a token) revokes loads in progress and is itself refused within
/// the revocation window after an invalidation, which it may have raced (its commit came first, its SET last).</item>
/// </list>
/// </remarks>
internal sealed class RedisEntryStore(IConnectionMultiplexer redis, CacheFlowOptions options, RedisGuard guard)
{
    private const int TagBatch = 256;

    /// <summary>How long a tag's removal set outlives its last batch: long enough for the next removal to finish the work.</summary>
    private static readonly long RemovingTtlMs = (long)TimeSpan.FromDays(1).TotalMilliseconds;

    /// <summary>
    /// How long a tag's version lives once given: past any load that read it; each entry written under it then keeps
    /// it at least as long as itself (<see cref="RedisScripts.Tag"/>).
    /// </summary>
    private static readonly TimeSpan VersionTtl = TimeSpan.FromMinutes(10);

    private readonly long _leaseMs = (long)options.LeaseDuration.TotalMilliseconds;
    private readonly TimeSpan _leaseDuration = options.LeaseDuration;
    private readonly bool _leases = options.Protections.HasFlag(CacheProtections.Leases);
    private readonly bool _revocations = options.Protections.HasFlag(CacheProtections.Revocations);
    private readonly string _removalSets = options.Protections.HasFlag(CacheProtections.TagRemovalSets) ? "1" : "0";
    private readonly bool _tagVersions = options.Protections.HasFlag(CacheProtections.TagVersions);

    public CacheKeys Keys { get; } = new(options.KeyPrefix);

    public RedisGuard Guard => guard;

    /// <summary>Whether loads take leases (off only in tests' controls).</summary>
    public bool Leases => _leases;

    /// <summary>Whether tagged entries carry their tags' versions and reads check them (<see cref="EntryTags"/>).</summary>
    public bool TagVersions => _tagVersions;

    private IDatabase Database => redis.GetDatabase();

    /// <summary>Reads an entry without taking a lease.</summary>
    public async ValueTask<StoredEntry?> GetAsync(string entryKey) => StoredEntry.From(await BeginRead(entryKey, lease: null).ConfigureAwait(false));

    /// <summary>
    /// Reads an entry that the caller knows carries <paramref name="tags"/>, with the tags' versions in the same round
    /// trip, taking <paramref name="lease"/> if there is no entry (as <see cref="BeginRead"/>). The entry is null if it
    /// is missing, or if it was not written under exactly these tags at their current versions (then no lease is taken:
    /// the caller loads past it under the lease key). With the lease taken, the versions come back for the load to
    /// record, a tag without one given one first (a second round trip, on a tag's first use). A
    /// <see cref="Task{TResult}"/>, not a value task: awaited on the read path beside the untagged read, its awaiter
    /// holds a reference where a value task would hold the whole result, in every read's state machine.
    /// </summary>
    public Task<EntryRead> ReadTaggedAsync(string entryKey, IReadOnlyList<string> tags, Lease? lease) =>
        guard.RunAsync(static async s =>
        {
            var db = s.Store.Database;
            var entry = s.Store.SendRead(db, s.EntryKey, s.Lease);
            var versions = s.Store.SendVersionReads(db, s.Tags);
            var read = Decode(await entry.ConfigureAwait(false), s.Lease is not null && s.Store._leases);
            var current = Current(await Task.WhenAll(versions).ConfigureAwait(false));
            if (read.Lease != LeaseState.Taken)
                return read with { Entry = Checked(read.Entry, s.Tags, current) };
            var recorded = Array.IndexOf(current, null) < 0
                ? Array.ConvertAll(current, static v => v!.Value)
                : Taken(await Task.WhenAll(s.Store.SendVersionTakes(db, s.Tags)).ConfigureAwait(false));
            return read with { Versions = recorded };
        }, (Store: this, EntryKey: (RedisKey)entryKey, Tags: tags, Lease: lease)).AsTask();

    /// <summary>
    /// Reads an entry as <see cref="BeginRead"/> does (with its tags' versions, as <see cref="ReadTaggedAsync"/>, when it
    /// has tags), guarded like any call: a load's read of the key it waits for.
    /// </summary>
    public async Task<EntryRead> ReadAsync(string entryKey, IReadOnlyList<string> tags, Lease? lease) =>
        tags.Count > 0 && _tagVersions
            ? await ReadTaggedAsync(entryKey, tags, lease).ConfigureAwait(false)
            : Decode(await guard.RunAsync(static s => s.Store.SendRead(s.Store.Database, s.Key, s.Lease), (Store: this, Key: (RedisKey)entryKey, Lease: lease)).ConfigureAwait(false), lease is not null && _leases);

    /// <summary>
    /// Reads an entry whose tags the caller does not know: a tagged one costs a second round trip for its tags'
    /// versions, and is null unless they are all current.
    /// </summary>
    public async ValueTask<StoredEntry?> GetCheckedAsync(string entryKey)
    {
        var entry = await GetAsync(entryKey).ConfigureAwait(false);
        if (entry is not { Header.TagsLength: > 0 } tagged || !_tagVersions)
            return entry;
        var names = EntryTags.Names(tagged.Tags.Span);
        var versions = await guard.RunAsync(static s => Task.WhenAll(s.Store.SendVersionReads(s.Store.Database, s.Names)), (Store: this, Names: names)).ConfigureAwait(false);
        return Checked(entry, names, Current(versions));
    }

    /// <summary>
    /// The current version of each tag, giving one to a tag that has none, in one round trip: what a load records
    /// before it reads the source, or a write-through before it writes. A version gone between the two commands is 0,
    /// which no tag ever has again (the entry is then a miss).
    /// </summary>
    public async ValueTask<long[]> TakeTagVersionsAsync(IReadOnlyList<string> tags) =>
        Taken(await guard.RunAsync(static s => Task.WhenAll(s.Store.SendVersionTakes(s.Store.Database, s.Tags)), (Store: this, Tags: tags)).ConfigureAwait(false));

    /// <summary>
    /// The read of the hit path, awaited in the caller's own state machine (bounded and reported to the guard by <see cref="RedisGuard.Recorded"/>). With a
    /// <paramref name="lease"/> the read is <c>SET entry placeholder NX PX lease GET</c>: one plain command that returns
    /// the entry if there is one and otherwise takes the lease (<see cref="Decode"/> tells which), so a miss costs no
    /// round trip for its lease.
    /// </summary>
    public ValueTask<RedisValue> BeginRead(string entryKey, Lease? lease) =>
        Begin(static (s, db) => s.Store.SendRead(db, s.EntryKey, s.Lease), (Store: this, EntryKey: (RedisKey)entryKey, Lease: lease));

    /// <summary>
    /// The write of an untagged entry as one script (a write-back, a write-through, an overwrite), awaited as
    /// <see cref="BeginRead"/> is: its reply is 1 if written. Only where <see cref="WritesByScript"/>; elsewhere (tests'
    /// controls) the caller uses <see cref="WriteAsync"/>.
    /// </summary>
    public ValueTask<RedisResult> BeginWrite(string entryKey, ReadOnlyMemory<byte> entry, long ttlMs, Lease? lease, bool overwrite) =>
        Begin(static (s, db) => s.Store.SendWrite(db, s.EntryKey, s.Entry, s.TtlMs, s.Lease, s.Overwrite)!, (Store: this, EntryKey: entryKey, Entry: entry, TtlMs: ttlMs, Lease: lease, Overwrite: overwrite));

    /// <summary>A call admitted by the guard (or <see cref="RedisCircuitOpenException"/>), sent, bounded and recorded, for its caller to await.</summary>
    private ValueTask<T> Begin<T, TState>(Func<TState, IDatabase, Task<T>> send, TState state)
    {
        var probe = guard.Admit();
        Task<T> sent;
        try
        {
            sent = send(state, Database);
        }
        catch (Exception ex)
        {
            // Thrown before a task existed (no connection, say): recorded here, as the caller has nothing to await.
            guard.Record(failed: RedisGuard.Trips(ex), probe);
            throw;
        }

        return guard.Recorded(sent, probe);
    }

    /// <summary>
    /// What a read's reply means: a placeholder is another load's lease; nothing, where the read asked for the lease
    /// (<paramref name="leasing"/>), is the lease taken; anything else is the entry (null if it is in another format).
    /// </summary>
    public static EntryRead Decode(RedisValue reply, bool leasing) =>
        leasing && reply.IsNull ? new EntryRead(null, LeaseState.Taken)
        : Lease.IsPlaceholder(reply) ? new EntryRead(null, LeaseState.Held)
        : new EntryRead(StoredEntry.From(reply), LeaseState.None);

    /// <summary>
    /// A batch's read for many keys: one script per hash slot (one in all on a single server), sent together, each key
    /// read and, if it has no entry, its lease taken as <see cref="BeginRead"/> takes it. For each key: the entry, or
    /// whether its lease was taken; null where its script failed (each failure is handed to <paramref name="failed"/>).
    /// </summary>
    public async Task<(StoredEntry? Entry, bool Taken)?[]> ReadOrLeaseManyAsync(
        IReadOnlyList<Lease> leases, IReadOnlyList<string> tags, IReadOnlyList<long>? versions, Action<Exception> failed)
    {
        var replies = new (StoredEntry? Entry, bool Taken)?[leases.Count];
        var current = versions?.Select(static v => (long?)v).ToArray();
        await Task.WhenAll(BySlot([.. leases.Select(static l => l.EntryKey)]).Select(async indexes =>
        {
            try
            {
                if (!_leases)
                {
                    var values = await guard.RunAsync(static s => s.Database.StringGetAsync(s.Keys), (Database, Keys: Array.ConvertAll(indexes, i => (RedisKey)leases[i].EntryKey))).ConfigureAwait(false);
                    for (var i = 0; i < indexes.Length; i++)
                        replies[indexes[i]] = (current is null ? StoredEntry.From(values[i]) : Checked(StoredEntry.From(values[i]), tags, current), true);
                    return;
                }

                var keys = Array.ConvertAll(indexes, i => (RedisKey)leases[i].EntryKey);
                var arguments = indexes.Select(i => leases[i].Value).Prepend(_leaseMs).ToArray();
                var reply = (RedisResult[])(await guard.RunAsync(static s => s.Database.ScriptEvaluateAsync(RedisScripts.ReadOrLeaseMany, s.keys, s.arguments), (Database, keys, arguments)).ConfigureAwait(false))!;
                for (var i = 0; i < indexes.Length; i++)
                {
                    replies[indexes[i]] = reply[i].Resp2Type == ResultType.Integer ? (null, (int)reply[i] == 1)
                        : (current is null ? StoredEntry.From((RedisValue)reply[i]) : Checked(StoredEntry.From((RedisValue)reply[i]), tags, current), false);
                }
            }
            catch (Exception ex) when (RedisGuard.IsFailure(ex))
            {
                // This slot's keys stay null: loaded without caching. A lease the script took before its reply was
                // lost runs out by itself.
                failed(ex);
            }
        })).ConfigureAwait(false);
        return replies;
    }

    /// <summary>
    /// The lease-checked write-backs of many untagged entries: one script per hash slot, sent together. For each: true
    /// if written, false if its lease was lost, null if its script failed (each failure handed to <paramref name="failed"/>).
    /// </summary>
    public async Task<bool?[]> CommitManyAsync(IReadOnlyList<(Lease Lease, ReadOnlyMemory<byte> Entry, long TtlMs)> writes, Action<Exception> failed)
    {
        var written = new bool?[writes.Count];
        await Task.WhenAll(BySlot([.. writes.Select(static w => w.Lease.EntryKey)]).Select(async indexes =>
        {
            try
            {
                if (!_leases)
                {
                    foreach (var i in indexes)
                        written[i] = await WriteAsync(writes[i].Lease.EntryKey, writes[i].Entry, writes[i].TtlMs, [], writes[i].Lease).ConfigureAwait(false);
                    return;
                }

                var keys = Array.ConvertAll(indexes, i => (RedisKey)writes[i].Lease.EntryKey);
                var arguments = indexes.SelectMany(i => new RedisValue[] { writes[i].Lease.Value, writes[i].Entry, writes[i].TtlMs }).ToArray();
                var reply = (RedisResult[])(await guard.RunAsync(static s => s.Database.ScriptEvaluateAsync(RedisScripts.FillMany, s.keys, s.arguments), (Database, keys, arguments)).ConfigureAwait(false))!;
                for (var i = 0; i < indexes.Length; i++)
                    written[indexes[i]] = (int)reply[i] == 1;
            }
            catch (Exception ex) when (RedisGuard.IsFailure(ex))
            {
                // This slot's writes stay null: not written.
                failed(ex);
            }
        })).ConfigureAwait(false);
        return written;
    }

    /// <summary>The indexes of <paramref name="entryKeys"/> grouped by hash slot on a cluster; one group on a single server.</summary>
    private IEnumerable<int[]> BySlot(IReadOnlyList<string> entryKeys)
    {
        var cluster = redis.GetServers().Any(static s => s.ServerType == ServerType.Cluster);
        return Enumerable.Range(0, entryKeys.Count).GroupBy(i => cluster ? redis.HashSlot(entryKeys[i]) : 0).Select(static g => g.ToArray());
    }

    /// <summary>
    /// Takes the lease key beside the entry (<paramref name="lease"/>) if it is free and no miss holds the entry key;
    /// returns whether it was taken and the entry as it is now (null also while another load's placeholder is there).
    /// With tags, the tags' versions come in the same round trip (given one where a tag has none): the entry is null
    /// unless written under them, and the load records them (<see cref="EntryTags"/>).
    /// </summary>
    public async Task<(bool Taken, StoredEntry? Current, long[]? Versions)> AcquireAsync(Lease lease, IReadOnlyList<string> tags)
    {
        var versioned = _tagVersions && tags.Count > 0;
        if (!_leases && !versioned)
            return (true, StoredEntry.From(await guard.RunAsync(static s => s.Database.StringGetAsync(s.Key), (Database, Key: (RedisKey)lease.EntryKey)).ConfigureAwait(false)), null);

        return await guard.RunAsync(static async s =>
        {
            var db = s.Store.Database;
            var versions = s.Versioned ? s.Store.SendVersionTakes(db, s.Tags) : [];
            (bool Taken, StoredEntry? Current) acquired;
            if (s.Store._leases)
            {
                var parts = (RedisResult[])(await db.ScriptEvaluateAsync(RedisScripts.Acquire, [s.Lease.EntryKey, s.Lease.Key], [s.Lease.Token, s.Store._leaseMs]).ConfigureAwait(false))!;
                acquired = ((int)parts[0] == 1, StoredEntry.From((RedisValue)parts[1]));
            }
            else
            {
                acquired = (true, StoredEntry.From(await db.StringGetAsync(s.Lease.EntryKey).ConfigureAwait(false)));
            }

            if (!s.Versioned)
                return (acquired.Taken, acquired.Current, (long[]?)null);
            var taken = Taken(await Task.WhenAll(versions).ConfigureAwait(false));
            return (acquired.Taken, Checked(acquired.Current, s.Tags, [.. taken.Select(static v => (long?)v)]), taken);
        }, (Store: this, Lease: lease, Tags: tags, Versioned: versioned)).ConfigureAwait(false);
    }

    /// <summary>
    /// Frees the lease if its key still holds this load's token or placeholder; false if it was revoked, or if a tag's
    /// version is no longer the one the load <paramref name="recorded"/> for <paramref name="tags"/> (read in the same
    /// round trip): a removal by tag does not revoke a lease, so a load's result is no newer than such a removal.
    /// </summary>
    public async Task<bool> ReleaseAsync(Lease lease, IReadOnlyList<string>? tags = null, IReadOnlyList<long>? recorded = null)
    {
        var versioned = _tagVersions && tags is { Count: > 0 } && recorded is not null;
        if (!_leases && !versioned)
            return true;
        return await guard.RunAsync(static async s =>
        {
            var versions = s.Versioned ? s.Store.SendVersionReads(s.Store.Database, s.Tags!) : [];
            var released = !s.Store._leases || (int)await s.Store.Database.ScriptEvaluateAsync(RedisScripts.Release, [s.Lease.Key], [s.Lease.Value]).ConfigureAwait(false) == 1;
            var unchanged = !s.Versioned || Unchanged(Current(await Task.WhenAll(versions).ConfigureAwait(false)), s.Recorded!);
            return released && unchanged;
        }, (Store: this, Lease: lease, Tags: tags, Recorded: recorded, Versioned: versioned)).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes an entry and its tag indexes: with a <paramref name="lease"/>, the lease-checked write-back of a load;
    /// without, a write-through. Returns false if refused (the lease was revoked, or an invalidation came within the
    /// revocation window), and for a write-back whose <paramref name="recorded"/> tag versions are no longer all
    /// current (a removal by tag came after the load recorded them): written, it is a miss for every reader, and
    /// the load's value must not be shared with callers that joined it after that removal either.
    /// </summary>
    public ValueTask<bool> WriteAsync(
        string entryKey, ReadOnlyMemory<byte> entry, long ttlMs, IReadOnlyList<string> tags, Lease? lease, bool overwrite = false, IReadOnlyList<long>? recorded = null) =>
        guard.RunAsync(static s => s.Store.WriteCoreAsync(s.EntryKey, s.Entry, s.TtlMs, s.Tags, s.Lease, s.Overwrite, s.Recorded),
            (Store: this, EntryKey: entryKey, Entry: entry, TtlMs: ttlMs, Tags: tags, Lease: lease, Overwrite: overwrite, Recorded: recorded));

    /// <summary>
    /// Replaces an entry holding exactly <paramref name="old"/> with <paramref name="replacement"/>, keeping its time
    /// to live, and publishes the bus's <paramref name="message"/> if it did.
    /// </summary>
    public async Task<bool> ReplaceAsync(string entryKey, ReadOnlyMemory<byte> old, ReadOnlyMemory<byte> replacement, BusMessage message)
    {
        var replaced = await guard.RunAsync(static s => s.Database.ScriptEvaluateAsync(RedisScripts.Replace, [s.Entry, s.Lease], [s.Old, s.New, s.Message.Channel, s.Message.Text]),
            (Database, Entry: (RedisKey)entryKey, Lease: (RedisKey)CacheKeys.Lease(entryKey), Old: (RedisValue)old, New: (RedisValue)replacement, Message: message)).ConfigureAwait(false);
        return (int)replaced == 1;
    }

    /// <summary>Revokes the loads in progress (their values predate a change) without touching the entry.</summary>
    public Task RevokeLoadAsync(string entryKey) =>
        !_leases ? Task.CompletedTask
        : guard.RunAsync(static s => s.Database.ScriptEvaluateAsync(RedisScripts.Revoke, [s.Entry, s.Lease]),
            (Database, Entry: (RedisKey)entryKey, Lease: (RedisKey)CacheKeys.Lease(entryKey))).AsTask();

    /// <summary>
    /// Invalidates one entry (lease, marker, entry: <see cref="RedisScripts.Delete"/>). True if the entry existed.
    /// Invalidations are sent even while the circuit is open (<see cref="RedisGuard.RunUnrefusedAsync"/>).
    /// </summary>
    public ValueTask<bool> DeleteAsync(string entryKey) =>
        guard.RunUnrefusedAsync(static s => s.Store.DeleteCoreAsync(s.Database, s.EntryKey), (Store: this, Database, EntryKey: entryKey));

    /// <summary>
    /// Removes every entry indexed under <paramref name="tag"/>, in batches: members move atomically from the index to
    /// the tag's removal set, their entries are deleted, then they leave the removal set. A removal that fails or is
    /// interrupted between two steps leaves the members in the removal set, and the next removal of the tag deletes
    /// them first: no tagged entry can outlive a removal that returned. Returns how many entries existed.
    /// </summary>
    public async Task<long> RemoveTagAsync(string tag)
    {
        var db = Database;
        var tagKey = Keys.Tag(tag);
        var removingKey = (RedisKey)CacheKeys.Removing(tagKey);
        if (_tagVersions)
        {
            // First: every entry written under the old version is a miss from now on, whatever the index still
            // holds (or lost to eviction), and a load in flight that recorded it writes back a miss. A tag without a
            // version has no current entries; the next load gives it one.
            await guard.RunUnrefusedAsync(static s => s.db.StringSetAsync(s.version, Random.Shared.NextInt64(1, long.MaxValue), null, keepTtl: true, When.Exists),
                (db, version: (RedisKey)CacheKeys.TagVersion(tagKey))).ConfigureAwait(false);
        }

        var removed = await DeleteMembersAsync(db, removingKey,
            await guard.RunUnrefusedAsync(static s => s.db.SetMembersAsync(s.removingKey), (db, removingKey)).ConfigureAwait(false)).ConfigureAwait(false);
        while (true)
        {
            var members = (RedisValue[])(await guard.RunUnrefusedAsync(static s => s.db.ScriptEvaluateAsync(RedisScripts.TakeTagged, [s.tagKey, s.removingKey], [TagBatch, RemovingTtlMs, s.sets]),
                (db, tagKey: (RedisKey)tagKey, removingKey, sets: _removalSets)).ConfigureAwait(false))!;
            if (members.Length == 0)
                return removed;
            removed += await DeleteMembersAsync(db, removingKey, members).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Removes every entry whose key starts with <paramref name="keyPrefix"/>, paging with SCAN on every primary.
    /// A lease found without its entry is a load in progress, revoked the same way. Returns how many entries existed.
    /// </summary>
    public async Task<long> RemovePrefixAsync(string keyPrefix)
    {
        var pattern = Keys.EntryPattern(keyPrefix);
        var db = Database;
        long removed = 0;
        // Every primary holds a share of the keys on a cluster; a single node is its own only primary.
        foreach (var server in redis.GetServers().Where(s => !s.IsReplica))
        {
            long cursor = 0;
            do
            {
                var page = (RedisResult[])(await guard.RunUnrefusedAsync(
                    static s => s.server.ExecuteAsync("SCAN", s.cursor, "MATCH", s.pattern, "COUNT", s.count),
                    (server, cursor, pattern, count: options.ScanPageSize)).ConfigureAwait(false))!;
                cursor = long.Parse((string)page[0]!, CultureInfo.InvariantCulture);
                var entries = ((RedisKey[])page[1]!).Select(k => (string)k!).Where(k => !CacheKeys.IsMarker(k)).Select(CacheKeys.EntryOf).Distinct(StringComparer.Ordinal);
                var deleted = await guard.RunUnrefusedAsync(static s => Task.WhenAll(s.entries.Select(e => s.store.DeleteCoreAsync(s.db, e))), (entries, store: this, db)).ConfigureAwait(false);
                removed += deleted.Count(d => d);
            }
            while (cursor != 0);
        }

        return removed;
    }

    /// <summary>The entry if it was written under exactly <paramref name="tags"/> at <paramref name="versions"/>, else null.</summary>
    private static StoredEntry? Checked(StoredEntry? entry, IReadOnlyList<string> tags, IReadOnlyList<long?> versions) =>
        entry is { } e && EntryTags.Match(e.Tags.Span, tags, versions) ? entry : null;

    /// <summary>The read of an entry, sent: a GET, or with a lease the <c>SET NX GET</c> that takes it if there is no entry.</summary>
    private Task<RedisValue> SendRead(IDatabase db, RedisKey entryKey, Lease? lease) =>
        lease is { } l && _leases ? db.StringSetAndGetAsync(entryKey, l.Value, _leaseDuration, keepTtl: false, When.NotExists) : db.StringGetAsync(entryKey);

    /// <summary>GETs of the tags' versions, sent (pipelined with whatever the caller sends beside them).</summary>
    private Task<RedisValue>[] SendVersionReads(IDatabase db, IReadOnlyList<string> tags)
    {
        var reads = new Task<RedisValue>[tags.Count];
        for (var i = 0; i < tags.Count; i++)
            reads[i] = db.StringGetAsync(CacheKeys.TagVersion(Keys.Tag(tags[i])));
        return reads;
    }

    /// <summary>For each tag, a SET NX of a new version (it has none) then a GET of whichever it has, sent in that order.</summary>
    private Task<RedisValue>[] SendVersionTakes(IDatabase db, IReadOnlyList<string> tags)
    {
        var reads = new Task<RedisValue>[tags.Count];
        for (var i = 0; i < tags.Count; i++)
        {
            var version = (RedisKey)CacheKeys.TagVersion(Keys.Tag(tags[i]));
            _ = db.StringSetAsync(version, Random.Shared.NextInt64(1, long.MaxValue), VersionTtl, When.NotExists, CommandFlags.FireAndForget);
            reads[i] = db.StringGetAsync(version);
        }

        return reads;
    }

    private static long?[] Current(RedisValue[] versions) => Array.ConvertAll(versions, static v => v.IsNull ? (long?)null : (long)v);

    /// <summary>Whether each tag's version now (null: it has none) is the one a load recorded before its source read.</summary>
    private static bool Unchanged(IReadOnlyList<long?> now, IReadOnlyList<long> recorded)
    {
        for (var i = 0; i < now.Count; i++)
        {
            if (now[i] != recorded[i])
                return false;
        }

        return true;
    }

    private static long[] Taken(RedisValue[] versions) => Array.ConvertAll(versions, static v => v.IsNull ? 0 : (long)v);

    private async Task<long> DeleteMembersAsync(IDatabase db, RedisKey removingKey, RedisValue[] members)
    {
        if (members.Length == 0)
            return 0;
        var deleted = await guard.RunUnrefusedAsync(static s => Task.WhenAll(s.members.Select(m => s.store.DeleteCoreAsync(s.db, (string)m!))), (members, store: this, db)).ConfigureAwait(false);
        await guard.RunUnrefusedAsync(static s => s.db.SetRemoveAsync(s.removingKey, s.members), (db, removingKey, members)).ConfigureAwait(false);
        return deleted.Count(d => d);
    }

    private async Task<bool> DeleteCoreAsync(IDatabase db, string entryKey)
    {
        if (!_revocations)
        {
            // Without the marker (tests' control): the lease, then the entry, pipelined in that order.
            var lease = db.KeyDeleteAsync(CacheKeys.Lease(entryKey));
            var entry = db.KeyDeleteAsync(entryKey);
            await Task.WhenAll(lease, entry).ConfigureAwait(false);
            return entry.Result;
        }

        var existed = await db.ScriptEvaluateAsync(RedisScripts.Delete, [entryKey, CacheKeys.Lease(entryKey), CacheKeys.Revoked(entryKey)], [_leaseMs]).ConfigureAwait(false);
        return (int)existed == 1;
    }

    /// <summary>Whether a write is one script (with the protections on), or, in tests' controls, a plain SET.</summary>
    public bool WritesByScript(Lease? lease, bool overwrite) => lease is null ? (overwrite && _leases) || _revocations : _leases;

    /// <summary>
    /// The script that writes an entry, sent: a miss's write-back (fill), a refresh's (commit), an overwrite, a
    /// write-through. Null where <see cref="WritesByScript"/> says the write is a plain SET.
    /// </summary>
    private Task<RedisResult>? SendWrite(IDatabase db, string entryKey, ReadOnlyMemory<byte> entry, long ttlMs, Lease? lease, bool overwrite) =>
        !WritesByScript(lease, overwrite) ? null
        : lease is { InEntry: true } miss ? db.ScriptEvaluateAsync(RedisScripts.Fill, [entryKey], [miss.Value, entry, ttlMs])
        : lease is { } refresh ? db.ScriptEvaluateAsync(RedisScripts.Commit, [entryKey, refresh.Key], [refresh.Token, entry, ttlMs])
        : overwrite && _leases ? db.ScriptEvaluateAsync(RedisScripts.Overwrite, [entryKey, CacheKeys.Lease(entryKey)], [entry, ttlMs])
        : db.ScriptEvaluateAsync(RedisScripts.WriteThrough, [entryKey, CacheKeys.Lease(entryKey), CacheKeys.Revoked(entryKey)], [entry, ttlMs]);

    private async Task<bool> WriteCoreAsync(
        string entryKey, ReadOnlyMemory<byte> entry, long ttlMs, IReadOnlyList<string> tags, Lease? lease, bool overwrite, IReadOnlyList<long>? recorded)
    {
        var db = Database;
        // Sent in order on one connection: tag indexes first, so an entry is never in Redis without its index.
        var indexes = tags.Count == 0 ? null : new Task<RedisResult>[tags.Count];
        for (var i = 0; i < tags.Count; i++)
        {
            var tagKey = Keys.Tag(tags[i]);
            indexes![i] = db.ScriptEvaluateAsync(RedisScripts.Tag, [tagKey, CacheKeys.TagVersion(tagKey)], [entryKey, ttlMs]);
        }

        var script = SendWrite(db, entryKey, entry, ttlMs, lease, overwrite);
        // Tests' controls: an unconditional SET (after revoking loads, for a write-through).
        var revoke = script is null && lease is null && _leases ? db.KeyDeleteAsync(CacheKeys.Lease(entryKey)) : null;
        var set = script is null ? db.StringSetAsync(entryKey, entry, TimeSpan.FromMilliseconds(ttlMs)) : null;
        var current = true;
        if (indexes is not null)
        {
            var versions = await Task.WhenAll(indexes).ConfigureAwait(false);
            // A write-back's versions were recorded before its source read; each index script returns the tag's version now.
            if (lease is not null && recorded is not null && _tagVersions)
                current = Unchanged(Array.ConvertAll(versions, static v => (long?)v), recorded);
        }

        if (revoke is not null)
            await revoke.ConfigureAwait(false);
        var written = script is not null ? (int)await script.ConfigureAwait(false) == 1 : await set!.ConfigureAwait(false);
        return written && current;
    }
}
