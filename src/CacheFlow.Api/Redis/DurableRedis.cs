using CacheFlow.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CacheFlow.Api.Redis;

/// <summary>
/// The Redis that holds durable data (the write-behind queue, its statuses and dead letters, login counts and the
/// leaderboard: everything under <see cref="CacheFlowOptions.DurableKeyPrefix"/>): a Redis of its own
/// (<c>ConnectionStrings:DurableRedis</c>, with a guard and a circuit of its own), or the cache's connection and guard.
/// Durable writes ask <see cref="EnsureAccepting"/> first: they are taken only while the last check found a Redis that
/// cannot lose them, or when <see cref="DurableDataOptions.AllowDataLoss"/> accepts that it can.
/// </summary>
public sealed class DurableRedis : IDisposable
{
    private readonly RedisEndpoint? _own;
    private readonly Lock _lock = new();
    private DurableRedisVerdict _verdict = DurableRedisVerdict.Unchecked("not checked yet");
    private int _generation;

    private DurableRedis(IConnectionMultiplexer connection, RedisGuard guard, string description, RedisEndpoint? own, bool allowDataLoss)
    {
        Connection = connection;
        Guard = guard;
        Description = description;
        _own = own;
        AllowsDataLoss = allowDataLoss;
    }

    /// <summary>The connection durable data is read and written through.</summary>
    public IConnectionMultiplexer Connection { get; }

    /// <summary>The guard of its calls: the cache's when the connection is shared, its own otherwise.</summary>
    public RedisGuard Guard { get; }

    /// <summary>Where durable data is, for logs.</summary>
    public string Description { get; }

    /// <summary>Whether durable data has a Redis of its own (<c>ConnectionStrings:DurableRedis</c>, or the embedded one).</summary>
    public bool IsOwn => _own is not null;

    /// <summary>Whether <see cref="DurableDataOptions.AllowDataLoss"/> accepts a Redis that can lose writes.</summary>
    public bool AllowsDataLoss { get; }

    /// <summary>What the last check found.</summary>
    public DurableRedisVerdict Verdict => Volatile.Read(ref _verdict);

    /// <summary>Whether durable writes are taken: the last check found a safe Redis, or data loss is accepted.</summary>
    public bool IsAccepting => AllowsDataLoss || Verdict.State == DurableRedisState.Safe;

    /// <summary>Bumped whenever what is known is forgotten; a check started before then does not record its verdict.</summary>
    internal int Generation => Volatile.Read(ref _generation);

    /// <summary>Durable data on the cache's connection, under the cache's guard.</summary>
    public static DurableRedis Share(IConnectionMultiplexer cache, RedisGuard guard, IOptions<DurableDataOptions> options) =>
        new(cache, guard, "on the same Redis as the cache", null, options.Value.AllowDataLoss);

    /// <summary>Durable data on a Redis of its own, with a connection and a guard (a circuit) of its own.</summary>
    public static DurableRedis Own(RedisEndpoint own, string why, IOptions<CacheFlowOptions> cache, IOptions<DurableDataOptions> options, TimeProvider time) =>
        new(own.Connect(), new RedisGuard(cache, time), $"on a Redis of its own ({own.Description}, {why})", own, options.Value.AllowDataLoss);

    /// <summary>The Redis of its own, when it has one (<see cref="IsOwn"/>).</summary>
    public RedisEndpoint? Endpoint => _own;

    /// <summary>Where durable data is and what the last check found, in words (the start-up line says it).</summary>
    public string Report()
    {
        var verdict = Verdict;
        return verdict.State switch
        {
            DurableRedisState.Safe => $"{Description}, checked: {verdict.Summary}",
            DurableRedisState.Unchecked => $"{Description}, not checked ({verdict.Summary}): durable writes go to the database until it is",
            _ when AllowsDataLoss => $"{Description}, which CAN LOSE accepted writes (accepted by DurableData:AllowDataLoss=true): {string.Join("; ", verdict.Problems)}",
            _ => $"{Description}, which can lose accepted writes: {string.Join("; ", verdict.Problems)}",
        };
    }

    /// <summary>Throws <see cref="DurableDataRefusedException"/> unless durable writes are taken (<see cref="IsAccepting"/>).</summary>
    public void EnsureAccepting()
    {
        if (!IsAccepting)
            throw new DurableDataRefusedException(Verdict);
    }

    /// <summary>Forgets what is known (the connection failed: what answers next may be another server, or reconfigured).</summary>
    internal void Forget(string why)
    {
        lock (_lock)
        {
            _generation++;
            Volatile.Write(ref _verdict, DurableRedisVerdict.Unchecked(why));
        }
    }

    /// <summary>Records a check's verdict unless what was known was forgotten since it started; returns the verdict before.</summary>
    internal DurableRedisVerdict? TryRecord(DurableRedisVerdict verdict, int generation)
    {
        lock (_lock)
        {
            if (generation != _generation)
                return null;
            var previous = _verdict;
            Volatile.Write(ref _verdict, verdict);
            return previous;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_own is not null)
        {
            Connection.Dispose();
            _own.Dispose();
        }
    }
}
