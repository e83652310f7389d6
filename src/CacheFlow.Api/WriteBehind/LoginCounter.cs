using System.ComponentModel.DataAnnotations;
using CacheFlow.Api.Data;
using CacheFlow.Api.Redis;
using CacheFlow.Api.Users;
using CacheFlow.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CacheFlow.Api.WriteBehind;

/// <summary>
/// Logins, counted in Redis at once and written to the database behind, coalesced: a sorted set holds each user's live
/// count (the leaderboard) and a hash the increments not yet in the database. A flush renames the hash to a batch
/// and applies it as one UPDATE per user, recording the batch id in the same transaction, so a batch applied twice
/// (after a crash) counts once. All keys share the hash tag <c>{wb:logins}</c>, under the durable prefix (no cache
/// removal reaches them). The calls a request waits for go through the cache's <see cref="RedisGuard"/>.
/// </summary>
public sealed class LoginCounter
{
    private const string StartBatchScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        redis.call('RENAME', KEYS[1], KEYS[2])
        redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
        return 1
        """;

    private const string EndBatchScript = """
        redis.call('DEL', KEYS[1])
        redis.call('ZREM', KEYS[2], ARGV[1])
        return 1
        """;

    private readonly DurableRedis _durable;
    private readonly IConnectionMultiplexer _redis;
    private readonly RedisGuard _guard;
    private readonly TimeProvider _time;
    private readonly LoginOptions _options;
    private readonly string _base;
    private readonly RedisKey _board, _pending, _batches;

    /// <summary>Creates the counter under the durable key prefix, on the Redis that holds durable data.</summary>
    public LoginCounter(DurableRedis durable, IOptions<CacheFlowOptions> cache, IOptions<LoginOptions> options, TimeProvider time)
    {
        _durable = durable;
        _redis = durable.Connection;
        _guard = durable.Guard;
        _time = time;
        _options = options.Value;
        _base = $"{cache.Value.DurableKeyPrefix}{{wb:logins}}";
        _board = _base + ":board";
        _pending = _base + ":pending";
        _batches = _base + ":batches";
    }

    private IDatabase Database => _redis.GetDatabase();

    /// <summary>
    /// Counts one login of a user whose count is <paramref name="known"/> so far; returns the new count. Throws a
    /// <see cref="RedisException"/> if Redis fails, or if it can lose the count (<see cref="DurableRedis.EnsureAccepting"/>).
    /// </summary>
    public async Task<long> RecordAsync(long id, long known)
    {
        _durable.EnsureAccepting();
        return await _guard.RunAsync(static async s =>
        {
            // One transaction, no script: on a Garnet that waits for its append-only file a script that writes costs
            // several times a transaction (bench/results/servers.md). The score is first raised to the known count
            // if it is lower (ZADD GT, which adds a user not on the board): logins counted in the database while Redis
            // was unavailable are not on the board, and without this it would lag the database by them for good.
            var transaction = s.Database.CreateTransaction();
            _ = transaction.SortedSetAddAsync(s._board, s.id, s.known, SortedSetWhen.GreaterThan);
            var count = transaction.SortedSetIncrementAsync(s._board, s.id, 1);
            _ = transaction.HashIncrementAsync(s._pending, s.id, 1);
            await transaction.ExecuteAsync().ConfigureAwait(false);
            return (long)await count.ConfigureAwait(false);
        }, (Database, _board, _pending, id, known), _guard.DurableTimeout);
    }

    /// <summary>A user's live count, if the leaderboard has it.</summary>
    public async Task<long?> CountAsync(long id) =>
        (long?)await _guard.RunAsync(static s => s.Database.SortedSetScoreAsync(s._board, s.id), (Database, _board, id));

    /// <summary>The users with the most logins and their live counts.</summary>
    public async Task<IReadOnlyList<(long Id, long Count)>> TopAsync(int limit) =>
        [.. (await _guard.RunAsync(static s => s.Database.SortedSetRangeByRankWithScoresAsync(s._board, 0, s.limit - 1, Order.Descending), (Database, _board, limit)))
            .Select(e => ((long)e.Element, (long)e.Score))];

    /// <summary>Puts users on the leaderboard with their database counts, keeping any live count already there.</summary>
    public Task SeedAsync(IEnumerable<User> users) =>
        Database.SortedSetAddAsync(_board, [.. users.Select(u => new SortedSetEntry(u.Id, u.LoginCount))], SortedSetWhen.NotExists);

    /// <summary>Takes a deleted user off the leaderboard; false if Redis failed (the user then shows there until a restart reseeds it).</summary>
    public async Task<bool> ForgetAsync(long id)
    {
        try
        {
            await _guard.RunAsync(static s => s.Database.SortedSetRemoveAsync(s._board, s.id), (Database, _board, id));
            return true;
        }
        catch (Exception ex) when (RedisGuard.IsFailure(ex))
        {
            return false;
        }
    }

    /// <summary>
    /// Applies the increments counted since the last flush, and any batch a crashed flusher left behind (older than
    /// the consumer timeout). Returns the logins applied.
    /// </summary>
    public async Task<long> FlushAsync(IUserRepository users, CancellationToken cancellationToken)
    {
        var db = Database;
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var batchId = $"logins:{Guid.CreateVersion7():N}";
        var started = (int)await db.ScriptEvaluateAsync(StartBatchScript, [_pending, BatchKey(batchId), _batches], [batchId, now]) == 1;
        var orphans = await db.SortedSetRangeByScoreAsync(_batches, stop: now - (long)_options.OrphanAfter.TotalMilliseconds);
        long applied = 0;
        foreach (var batch in orphans.Select(b => (string)b!).Append(started ? batchId : null).OfType<string>().Distinct())
        {
            var increments = (await db.HashGetAllAsync(BatchKey(batch))).ToDictionary(e => (long)e.Name, e => (long)e.Value);
            if (increments.Count > 0 && await users.ApplyLoginsAsync(batch, increments, cancellationToken))
                applied += increments.Values.Sum();
            await db.ScriptEvaluateAsync(EndBatchScript, [BatchKey(batch), _batches], [batch]);
        }

        return applied;
    }

    private RedisKey BatchKey(string batchId) => $"{_base}:batch:{batchId}";
}

/// <summary>How logins are written behind (configuration section <c>Logins</c>).</summary>
public sealed class LoginOptions
{
    /// <summary>How often counted logins are written to the database; a longer interval coalesces more.</summary>
    /// <value>The default value is 1 second.</value>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A batch still unapplied after this long was left by a crashed flusher, and is applied by another.</summary>
    /// <value>The default value is 30 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan OrphanAfter { get; set; } = TimeSpan.FromSeconds(30);
}
