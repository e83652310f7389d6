using System.Diagnostics;
using System.Threading.Tasks.Sources;

namespace CacheFlow.Redis;

/// <summary>
/// Bounds Redis calls by one timeout without allocating on the way: a call still running is awaited through a pooled
/// source (<see cref="IValueTaskSource{TResult}"/>) that the call completes, or that fails with a
/// <see cref="TimeoutException"/> once its deadline passes. Every call here has the same timeout, so deadlines come in
/// the order calls start: one ring of deadlines (reused, grown only while more calls wait than ever before), swept
/// from its head by one timer, armed only while calls wait.
/// </summary>
/// <remarks>
/// <see cref="Task{TResult}.WaitAsync(TimeSpan)"/>, which this replaces, cost a timer and a promise per call that had
/// not completed by the time it was awaited: every call on the hit and miss paths. A timed-out call is still observed
/// when it ends (its failure is never unobserved), and its source goes back to the pool only then.
/// </remarks>
internal sealed class CallDeadlines
{
    private readonly long _timeoutTicks;
    private readonly TimeSpan _sweepEvery;
    private readonly Lock _gate = new();
    private readonly RedisGuard? _guard;
    private readonly ITimer _timer;
    private Deadline[] _ring = new Deadline[64];
    private int _head;
    private int _count;
    private int _armed;

    /// <summary>
    /// Creates the deadlines of calls bounded by <paramref name="timeout"/> (on the wall clock: an I/O timeout; zero: no
    /// deadline), reporting to <paramref name="guard"/> how the calls it is asked to record ended.
    /// </summary>
    public CallDeadlines(TimeSpan timeout, RedisGuard? guard = null)
    {
        Timeout = timeout;
        _guard = guard;
        _timeoutTicks = (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        // A quarter of the timeout at most late, and never a busy timer.
        _sweepEvery = TimeSpan.FromTicks(Math.Clamp(timeout.Ticks / 4, TimeSpan.TicksPerMillisecond, TimeSpan.TicksPerSecond / 4));
        _timer = TimeProvider.System.CreateTimer(static s => ((CallDeadlines)s!).Sweep(), this, System.Threading.Timeout.InfiniteTimeSpan, System.Threading.Timeout.InfiniteTimeSpan);
    }

    public TimeSpan Timeout { get; }

    /// <summary>The call's result, or a <see cref="TimeoutException"/> if it has not come within the timeout.</summary>
    public ValueTask<T> Bound<T>(Task<T> call) => Bound(call, record: false, probe: false);

    /// <summary>
    /// As <see cref="Bound{T}(Task{T})"/>, and reports to the guard how the call ended (<see cref="RedisGuard.Record"/>) as
    /// it ends or times out: its caller awaits it in its own state machine and has nothing left to report.
    /// </summary>
    public ValueTask<T> Recorded<T>(Task<T> call, bool probe) => Bound(call, record: true, probe);

    private ValueTask<T> Bound<T>(Task<T> call, bool record, bool probe)
    {
        var guard = record ? _guard : null;
        if (call.IsCompleted)
        {
            guard?.Record(failed: call.Exception?.InnerException is { } failure && RedisGuard.Trips(failure), probe);
            return new ValueTask<T>(call);
        }

        var source = BoundCall<T>.Start(call, guard, probe, out var generation);
        if (_timeoutTicks > 0)
        {
            Enqueue(new Deadline(source, generation, Stopwatch.GetTimestamp() + _timeoutTicks));
            Arm();
        }

        return new ValueTask<T>(source, source.Version);
    }

    private void Arm()
    {
        if (Interlocked.CompareExchange(ref _armed, 1, 0) == 0)
            _timer.Change(_sweepEvery, System.Threading.Timeout.InfiniteTimeSpan);
    }

    private void Sweep()
    {
        var now = Stopwatch.GetTimestamp();
        while (TryTakeExpired(now, out var next))
            next.Call.TimeOut(next.Generation);
        Volatile.Write(ref _armed, 0);
        // A call queued after the last look would otherwise wait for the next one to arm the timer.
        if (Volatile.Read(ref _count) > 0)
            Arm();
    }

    /// <summary>
    /// Adds a deadline at the ring's tail. A <see cref="System.Collections.Concurrent.ConcurrentQueue{T}"/> allocated a
    /// new segment for every few thousand calls (its slots are used once): 30 to 70 bytes a call.
    /// </summary>
    private void Enqueue(Deadline deadline)
    {
        lock (_gate)
        {
            if (_count == _ring.Length)
            {
                var grown = new Deadline[_ring.Length * 2];
                for (var i = 0; i < _count; i++)
                    grown[i] = _ring[(_head + i) & (_ring.Length - 1)];
                (_ring, _head) = (grown, 0);
            }

            _ring[(_head + _count) & (_ring.Length - 1)] = deadline;
            Volatile.Write(ref _count, _count + 1);
        }
    }

    /// <summary>Takes the deadline at the ring's head if it has passed.</summary>
    private bool TryTakeExpired(long now, out Deadline expired)
    {
        lock (_gate)
        {
            if (_count == 0 || _ring[_head].At > now)
            {
                expired = default;
                return false;
            }

            expired = _ring[_head];
            _ring[_head] = default;
            _head = (_head + 1) & (_ring.Length - 1);
            Volatile.Write(ref _count, _count - 1);
            return true;
        }
    }

    private readonly record struct Deadline(IBoundCall Call, long Generation, long At);

    private interface IBoundCall
    {
        void TimeOut(long generation);
    }

    /// <summary>
    /// One bounded call, pooled: completed by the call or by its deadline, whichever comes first. Its state word holds
    /// the generation (one per use) and whether it is decided, so a deadline of an earlier use never touches a later one.
    /// </summary>
    private sealed class BoundCall<T> : IValueTaskSource<T>, IBoundCall
    {
        // A stack under a lock, not a ConcurrentQueue: the queue allocates a segment for every few thousand uses.
        private static readonly Stack<BoundCall<T>> Pool = new();
        private static readonly Lock PoolGate = new();

        private readonly Action _onCallEnded;
        private ManualResetValueTaskSourceCore<T> _core;
        private Task<T>? _call;
        private RedisGuard? _guard;
        private bool _probe;
        private long _state;
        private int _holders;

        private BoundCall() => _onCallEnded = OnCallEnded;

        public short Version => _core.Version;

        /// <summary>A pooled source for <paramref name="call"/>, held by its awaiter and by the call until both are done with it.</summary>
        public static BoundCall<T> Start(Task<T> call, RedisGuard? guard, bool probe, out long generation)
        {
            BoundCall<T>? source;
            lock (PoolGate)
                Pool.TryPop(out source);
            source ??= new BoundCall<T>();
            source._call = call;
            source._guard = guard;
            source._probe = probe;
            source._holders = 2;
            generation = Volatile.Read(ref source._state) >> 1;
            call.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(source._onCallEnded);
            return source;
        }

        public void TimeOut(long generation)
        {
            if (!Decide(generation))
                return;
            _guard?.Record(failed: true, _probe);
            // Not on the sweeping timer's thread: the caller goes on elsewhere, and the next deadlines are not held up.
            _core.RunContinuationsAsynchronously = true;
            _core.SetException(new TimeoutException("Redis did not answer within the timeout."));
        }

        public T GetResult(short token)
        {
            try
            {
                return _core.GetResult(token);
            }
            finally
            {
                Release();
            }
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);

        private void OnCallEnded()
        {
            var call = _call!;
            if (Decide(Volatile.Read(ref _state) >> 1))
            {
                var failure = call.IsCompletedSuccessfully ? null : call.Exception?.InnerException ?? new TaskCanceledException(call);
                _guard?.Record(failed: failure is not null && RedisGuard.Trips(failure), _probe);
                if (failure is null)
                    _core.SetResult(call.Result);
                else
                    _core.SetException(failure);
            }
            else
            {
                // Timed out before it ended: its failure, if any, is observed here.
                _ = call.Exception;
            }

            Release();
        }

        /// <summary>Decides this use (the call's end or its deadline, once): true for the first to come, in its generation.</summary>
        private bool Decide(long generation) =>
            Interlocked.CompareExchange(ref _state, (generation << 1) | 1, generation << 1) == generation << 1;

        private void Release()
        {
            if (Interlocked.Decrement(ref _holders) != 0)
                return;
            _call = null;
            _guard = null;
            _core.Reset();
            _core.RunContinuationsAsynchronously = false;
            Volatile.Write(ref _state, ((_state >> 1) + 1) << 1);
            lock (PoolGate)
                Pool.Push(this);
        }
    }
}
