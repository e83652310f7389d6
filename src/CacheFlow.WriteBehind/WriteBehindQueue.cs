using System.Diagnostics.Metrics;
using System.Text.Json;
using CacheFlow.Redis;
using StackExchange.Redis;

namespace CacheFlow.WriteBehind;

/// <summary>
/// A durable write-behind queue in Redis that works on Redis and on Garnet (which has no Streams): a reliable list
/// queue. Producers push writes; each flusher moves a batch atomically into a processing list of its own, applies it,
/// then removes it. A flusher that dies leaves its writes in its processing list, and another returns them to the
/// queue once its heartbeat is older than <see cref="WriteBehindOptions.ConsumerTimeout"/>. A write can thus be
/// delivered twice, never lost: the applier must be idempotent (keyed by <see cref="QueuedWrite.Id"/>). Failures are
/// retried with exponential backoff, then dead-lettered. Durability across a crash of Redis itself needs its
/// append-only file (Redis: <c>appendonly yes</c>; Garnet: <c>--aof --aof-commit-wait</c>).
/// </summary>
public sealed class WriteBehindQueue : IDisposable
{
    private readonly IConnectionMultiplexer _redis;
    private readonly RedisGuard? _guard;
    private readonly WriteBehindOptions _options;
    private readonly TimeProvider _time;
    private readonly string _statusPrefix;
    private readonly RedisKey _pending, _processing, _retry, _consumers, _dead;
    private readonly Meter _meter;
    private readonly Histogram<double> _delay;
    private readonly KeyValuePair<string, object?> _tag;
    private long _enqueued, _flushed, _retried, _deadLettered;
    private WriteBehindStatistics _last = new(0, 0, 0, 0, 0, 0, null);
    private WriteBehindStatistics _baseline = new(0, 0, 0, 0, 0, 0, null);

    /// <summary>Creates (or joins) the queue <paramref name="name"/> under the key prefix <paramref name="keyPrefix"/>.</summary>
    /// <param name="redis">The Redis connection.</param>
    /// <param name="keyPrefix">
    /// Where the queue's keys live: use <see cref="CacheFlowOptions.DurableKeyPrefix"/>, a namespace that no removal of
    /// cache entries can reach.
    /// </param>
    /// <param name="name">The queue's name.</param>
    /// <param name="options">How writes are retried and kept.</param>
    /// <param name="time">The clock of enqueue times, heartbeats and backoff.</param>
    /// <param name="meterFactory">Creates the <c>CacheFlow</c> meter; <see langword="null"/> for a standalone meter.</param>
    /// <param name="guard">The guard of the calls a request waits for (enqueue, status); <see langword="null"/> for none.</param>
    public WriteBehindQueue(IConnectionMultiplexer redis, string keyPrefix, string name, WriteBehindOptions options, TimeProvider time, IMeterFactory? meterFactory = null, RedisGuard? guard = null)
    {
        _redis = redis;
        _guard = guard;
        _options = options;
        _time = time;
        Name = name;
        ConsumerId = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";
        var queue = $"{keyPrefix}{{wb:{name}}}";
        _pending = queue + ":pending";
        _processing = queue + ":processing:" + ConsumerId;
        _retry = queue + ":retry";
        _consumers = queue + ":consumers";
        _dead = queue + ":dead";
        // Statuses share the queue's hash tag: one script writes a status and queues its write (one slot on a cluster).
        _statusPrefix = queue + ":status:";

        _meter = meterFactory?.Create(CacheFlowMeter.Name) ?? new Meter(CacheFlowMeter.Name);
        var tag = _tag = new KeyValuePair<string, object?>("queue", name);
        _meter.CreateObservableCounter("cacheflow.write_behind.enqueued", () => new Measurement<long>(Volatile.Read(ref _enqueued), tag), "{write}", "Writes accepted.");
        _meter.CreateObservableCounter("cacheflow.write_behind.flushed", () => new Measurement<long>(Volatile.Read(ref _flushed), tag), "{write}", "Writes applied.");
        _meter.CreateObservableCounter("cacheflow.write_behind.retried", () => new Measurement<long>(Volatile.Read(ref _retried), tag), "{write}", "Failed attempts put back for a retry.");
        _meter.CreateObservableCounter("cacheflow.write_behind.dead_lettered", () => new Measurement<long>(Volatile.Read(ref _deadLettered), tag), "{write}", "Writes given up on.");
        _meter.CreateObservableGauge("cacheflow.write_behind.depth", () => new Measurement<long>(_last.Depth, tag), "{write}", "Writes waiting (queued or due for a retry).");
        _meter.CreateObservableGauge("cacheflow.write_behind.lag", () => new Measurement<double>((_last.LagMilliseconds ?? 0) / 1000.0, tag), "s", "Age of the oldest waiting write.");
        _delay = _meter.CreateHistogram("cacheflow.write_behind.delay", "s", "Time from a write's acceptance to its being applied.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = CacheFlowMeter.SecondsBuckets });
    }

    /// <summary>The queue's name.</summary>
    public string Name { get; }

    /// <summary>This process's consumer id (one processing list each).</summary>
    public string ConsumerId { get; }

    /// <summary>The counters of this process (since the start or <see cref="ResetStatistics"/>) and the last measured depth and lag.</summary>
    public WriteBehindStatistics Statistics => _last with
    {
        Enqueued = Volatile.Read(ref _enqueued) - _baseline.Enqueued,
        Flushed = Volatile.Read(ref _flushed) - _baseline.Flushed,
        Retried = Volatile.Read(ref _retried) - _baseline.Retried,
        DeadLettered = Volatile.Read(ref _deadLettered) - _baseline.DeadLettered,
    };

    /// <summary>Zeroes the counters <see cref="Statistics"/> reports; the exported meter keeps counting.</summary>
    public void ResetStatistics() => _baseline = _baseline with
    {
        Enqueued = Volatile.Read(ref _enqueued),
        Flushed = Volatile.Read(ref _flushed),
        Retried = Volatile.Read(ref _retried),
        DeadLettered = Volatile.Read(ref _deadLettered),
    };

    private IDatabase Database => _redis.GetDatabase();

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>
    /// Accepts a write: its status (pending, with the write, readable at once) and the write itself, in one
    /// transaction (<c>MULTI</c>/<c>EXEC</c>: the two commands need no script, and on a Garnet that waits for its
    /// append-only file a script that writes costs several times a transaction, bench/results/servers.md), so a
    /// failure leaves neither. Throws if Redis fails, so the caller never acknowledges a write the queue does not
    /// hold, and never falls back to applying one the queue does hold.
    /// </summary>
    public async Task<QueuedWrite> EnqueueAsync(string kind, JsonElement payload, string? id = null)
    {
        var write = new QueuedWrite(id ?? Guid.CreateVersion7().ToString("N"), kind, payload, NowMs);
        await Guarded(() =>
        {
            var transaction = Database.CreateTransaction();
            _ = transaction.StringSetAsync(StatusKey(write.Id), WriteStatus.Of(WriteStatus.Pending, write).Serialize(), _options.StatusRetention);
            _ = transaction.ListLeftPushAsync(_pending, write.Serialize());
            return transaction.ExecuteAsync();
        }, durable: true).ConfigureAwait(false);
        Interlocked.Increment(ref _enqueued);
        return write;
    }

    /// <summary>The status of a write, or null if unknown (never accepted, or older than the retention).</summary>
    public async Task<WriteStatus?> GetStatusAsync(string id)
    {
        var value = await Guarded(() => Database.StringGetAsync(StatusKey(id))).ConfigureAwait(false);
        return value.IsNull ? null : WriteStatus.Parse((string)value!);
    }

    /// <summary>Takes up to <paramref name="max"/> writes into this consumer's processing list (and records its heartbeat).</summary>
    public async Task<IReadOnlyList<QueuedWrite>> TakeAsync(int max)
    {
        var taken = (RedisResult[])(await Database.ScriptEvaluateAsync(WriteBehindScripts.Take,
            [_pending, _processing, _retry, _consumers], [max, NowMs, ConsumerId]).ConfigureAwait(false))!;
        return [.. taken.Select(t => QueuedWrite.Parse((string)t!))];
    }

    /// <summary>Marks a write applied: its status says done (with <paramref name="result"/>), then it leaves the processing list.</summary>
    public async Task CompleteAsync(QueuedWrite write, string? result)
    {
        // Counted first: whoever sees the status say done also sees the count.
        Interlocked.Increment(ref _flushed);
        _delay.Record(Math.Max(0, NowMs - write.EnqueuedAt) / 1000.0, _tag);
        var db = Database;
        await db.StringSetAsync(StatusKey(write.Id), WriteStatus.Of(WriteStatus.Done, write, result).Serialize(), _options.StatusRetention).ConfigureAwait(false);
        await db.ListRemoveAsync(_processing, write.Raw, 1).ConfigureAwait(false);
    }

    /// <summary>
    /// A write failed to apply. A transient failure is retried after an exponential backoff until
    /// <see cref="WriteBehindOptions.MaxAttempts"/>; a permanent one (or the last attempt) goes to the dead-letter list
    /// and its status says failed with the reason. Returns true if it was dead-lettered.
    /// </summary>
    public Task<bool> FailAsync(QueuedWrite write, string error, bool permanent) => FailAsync(write, null, error, permanent);

    /// <summary>
    /// A write failed to apply, for a reason with a stable <paramref name="code"/> and a <paramref name="message"/>
    /// fit to show whoever asks for the write's status (never a server's own text). Otherwise as
    /// <see cref="FailAsync(QueuedWrite, string, bool)"/>.
    /// </summary>
    public async Task<bool> FailAsync(QueuedWrite write, string? code, string message, bool permanent)
    {
        var failed = write with { Attempts = write.Attempts + 1, Error = message, ErrorCode = code };
        var db = Database;
        if (!permanent && failed.Attempts < _options.MaxAttempts)
        {
            Interlocked.Increment(ref _retried);
            var delay = _options.RetryBaseDelay * Math.Pow(2, failed.Attempts - 1);
            // The status stays pending and tells how many attempts failed, and why the last one did.
            await db.StringSetAsync(StatusKey(write.Id), WriteStatus.Of(WriteStatus.Pending, failed).Serialize(), _options.StatusRetention).ConfigureAwait(false);
            await db.ScriptEvaluateAsync(WriteBehindScripts.Retry, [_processing, _retry],
                [write.Raw, failed.Serialize(), NowMs + (long)delay.TotalMilliseconds]).ConfigureAwait(false);
            return false;
        }

        Interlocked.Increment(ref _deadLettered);
        await db.StringSetAsync(StatusKey(write.Id), WriteStatus.Of(WriteStatus.Failed, failed).Serialize(), _options.StatusRetention).ConfigureAwait(false);
        await db.ScriptEvaluateAsync(WriteBehindScripts.Move, [_processing, _dead], [write.Raw, failed.Serialize()]).ConfigureAwait(false);
        return true;
    }

    /// <summary>Returns the writes of consumers not heard from within the timeout to the queue. Returns how many moved.</summary>
    public async Task<long> ReapAsync()
    {
        var db = Database;
        var dead = await db.SortedSetRangeByScoreAsync(_consumers, stop: NowMs - (long)_options.ConsumerTimeout.TotalMilliseconds).ConfigureAwait(false);
        long moved = 0;
        foreach (var consumer in dead.Select(c => (string)c!).Where(c => c != ConsumerId))
            moved += await ReleaseAsync(consumer).ConfigureAwait(false);
        return moved;
    }

    /// <summary>Returns this consumer's unfinished writes to the queue (on shutdown), for others to take at once.</summary>
    public Task<long> ReleaseAsync() => ReleaseAsync(ConsumerId);

    /// <summary>Measures the queue: writes waiting, in flight, dead-lettered, and the age of the oldest waiting.</summary>
    public async Task<WriteBehindStatistics> MeasureAsync()
    {
        var db = Database;
        var pending = db.ListLengthAsync(_pending);
        var retry = db.SortedSetLengthAsync(_retry);
        var dead = db.ListLengthAsync(_dead);
        var oldest = db.ListGetByIndexAsync(_pending, -1);
        await Task.WhenAll(pending, retry, dead, oldest).ConfigureAwait(false);
        long? lag = oldest.Result.IsNull ? null : Math.Max(0, NowMs - QueuedWrite.Parse((string)oldest.Result!).EnqueuedAt);
        _last = Statistics with { Depth = pending.Result + retry.Result, DeadLetters = dead.Result, LagMilliseconds = lag };
        return _last;
    }

    /// <summary>The newest dead-lettered writes, up to <paramref name="max"/>.</summary>
    public async Task<IReadOnlyList<QueuedWrite>> DeadLettersAsync(int max)
    {
        var values = await Guarded(() => Database.ListRangeAsync(_dead, 0, max - 1)).ConfigureAwait(false);
        return [.. values.Select(v => QueuedWrite.Parse((string)v!))];
    }

    /// <summary>Puts every dead-lettered write back on the queue with its attempts reset. Returns how many.</summary>
    public async Task<long> RequeueDeadLettersAsync()
    {
        var db = Database;
        long requeued = 0;
        foreach (var write in await DeadLettersAsync(int.MaxValue).ConfigureAwait(false))
        {
            var fresh = write with { Attempts = 0, Error = null, ErrorCode = null };
            await Guarded(() => db.StringSetAsync(StatusKey(write.Id), WriteStatus.Of(WriteStatus.Pending, fresh).Serialize(), _options.StatusRetention)).ConfigureAwait(false);
            requeued += (int)await Guarded(() => db.ScriptEvaluateAsync(WriteBehindScripts.Move, [_dead, _pending], [write.Raw, fresh.Serialize()])).ConfigureAwait(false);
        }

        return requeued;
    }

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();

    private async Task<long> ReleaseAsync(string consumer)
    {
        var processing = _processing.ToString()[..^ConsumerId.Length] + consumer;
        return (long)await Database.ScriptEvaluateAsync(WriteBehindScripts.Release, [processing, _pending, _consumers], [consumer]).ConfigureAwait(false);
    }

    private RedisKey StatusKey(string id) => _statusPrefix + id;

    /// <summary>
    /// A call a request waits for, through the guard when there is one (bounded wait, shared circuit). The call is
    /// made only once the guard admits it: while the circuit is open, nothing is sent.
    /// </summary>
    private async Task<T> Guarded<T>(Func<Task<T>> call, bool durable = false) =>
        _guard is null ? await call().ConfigureAwait(false)
        : await _guard.RunAsync(static c => c(), call, durable ? _guard.DurableTimeout : _guard.Timeout).ConfigureAwait(false);
}

/// <summary>A write-behind queue's figures.</summary>
/// <param name="Enqueued">Writes accepted by this process.</param>
/// <param name="Flushed">Writes applied by this process.</param>
/// <param name="Retried">Failed attempts this process put back for a retry.</param>
/// <param name="DeadLettered">Writes this process gave up on.</param>
/// <param name="Depth">Writes waiting in the queue (queued or due for a retry), at the last measure.</param>
/// <param name="DeadLetters">Writes in the dead-letter list, at the last measure.</param>
/// <param name="LagMilliseconds">Age of the oldest waiting write at the last measure; null when none waits.</param>
public sealed record WriteBehindStatistics(long Enqueued, long Flushed, long Retried, long DeadLettered, long Depth, long DeadLetters, long? LagMilliseconds);
