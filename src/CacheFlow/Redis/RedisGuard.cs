using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CacheFlow.Redis;

/// <summary>
/// Every Redis call of the cache, and of code that shares its connection (write-behind, counters), goes through one
/// guard: it bounds each call's wait by <see cref="CacheFlowOptions.RedisTimeout"/>, classifies failures in one
/// place (<see cref="IsFailure"/>), and breaks the circuit when Redis keeps failing: after
/// <see cref="CacheFlowOptions.CircuitBreakerConsecutiveFailures"/> failures in a row, or when at least half of
/// the calls within 10 seconds fail (and there were at least <see cref="CacheFlowOptions.CircuitBreakerMinimumThroughput"/>),
/// Redis is left alone for <see cref="CacheFlowOptions.CircuitBreakDuration"/>: every call during the break fails at
/// once with <see cref="RedisCircuitOpenException"/> instead of costing a timeout. After the break one call tries
/// Redis again; its success closes the circuit, its failure opens it for another break.
/// </summary>
/// <remarks>
/// A hung Redis (a stopped process keeps its sockets open, so commands queue and nothing fails) therefore costs a
/// caller at most the timeout, and only until a few calls in a row have timed out. Written here rather than taken
/// from Polly, whose pipeline cost about 730 bytes and a lock on every call of the hit path (measured with the
/// bench's <c>micro</c> scenario): a call while closed costs a timestamp and one interlocked increment.
/// </remarks>
public sealed class RedisGuard
{
    private const double FailureRatio = 0.5;
    private static readonly TimeSpan SamplingDuration = TimeSpan.FromSeconds(10);

    private readonly TimeProvider _time;
    private readonly TimeSpan _breakDuration;
    private readonly int _minimumThroughput;
    private readonly int _consecutiveLimit;
    private readonly Lock _lock = new();
    private readonly CallDeadlines _deadlines;
    private readonly CallDeadlines? _durableDeadlines;
    private Window _window;
    private volatile State _state = State.Closed;
    private long _openedAt;
    private int _consecutive;

    /// <summary>Creates the guard with the cache's options (as dependency injection does).</summary>
    /// <param name="options">The cache options: timeout and breaker settings.</param>
    /// <param name="time">The clock that times the break.</param>
    public RedisGuard(IOptions<CacheFlowOptions> options, TimeProvider time)
        : this(options.Value, time)
    {
    }

    internal RedisGuard(CacheFlowOptions options, TimeProvider time)
    {
        _time = time;
        _breakDuration = options.CircuitBreakDuration;
        _minimumThroughput = options.CircuitBreakerMinimumThroughput;
        _consecutiveLimit = options.CircuitBreakerConsecutiveFailures;
        Timeout = options.RedisTimeout;
        DurableTimeout = options.DurableRedisTimeout;
        _deadlines = new CallDeadlines(Timeout, this);
        _durableDeadlines = DurableTimeout > TimeSpan.Zero && DurableTimeout != Timeout ? new CallDeadlines(DurableTimeout) : null;
        _window = new Window(time.GetTimestamp());
    }

    private enum State
    {
        Closed,
        Open,
        HalfOpen,
    }

    /// <summary>The longest a guarded call waits for Redis; zero leaves it to the connection's own timeout.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>The longest a request waits for Redis to take a durable write (see <see cref="CacheFlowOptions.DurableRedisTimeout"/>).</summary>
    public TimeSpan DurableTimeout { get; }

    /// <summary>Whether calls are being refused (the circuit is open or one probe is in flight).</summary>
    public bool IsOpen => _state != State.Closed;

    private bool Enabled => _breakDuration > TimeSpan.Zero;

    /// <summary>
    /// Whether <paramref name="exception"/> means Redis could not serve a call (down, hung, refused by the breaker),
    /// as opposed to a bug. <see cref="RedisTimeoutException"/> is a <see cref="TimeoutException"/>, not a
    /// <see cref="RedisException"/>: catching the latter alone lets a hung Redis through as an error.
    /// </summary>
    /// <param name="exception">What a Redis call threw.</param>
    public static bool IsFailure(Exception exception) => exception is RedisException or TimeoutException;

    /// <summary>
    /// Whether a failed call counts against Redis: it did not answer (its connection failed, or it timed out). A
    /// <see cref="RedisException"/> for which this is false is an answer: a refusal or an error reply.
    /// </summary>
    /// <param name="exception">What a Redis call threw.</param>
    public static bool Trips(Exception exception) => exception is RedisConnectionException or TimeoutException;

    /// <summary>Runs one Redis call behind the breaker, bounded by <see cref="Timeout"/>.</summary>
    /// <typeparam name="T">The call's result.</typeparam>
    /// <typeparam name="TState">What the call needs, passed without a closure.</typeparam>
    /// <param name="call">Makes the call.</param>
    /// <param name="state">Passed to <paramref name="call"/>.</param>
    /// <returns>The call's result.</returns>
    /// <exception cref="RedisCircuitOpenException">The circuit is open: Redis was not called.</exception>
    /// <exception cref="TimeoutException">Redis did not answer within <see cref="Timeout"/>.</exception>
    public ValueTask<T> RunAsync<T, TState>(Func<TState, Task<T>> call, TState state) => RunAsync(call, state, Timeout);

    /// <summary>Runs one Redis call behind the breaker, bounded by <paramref name="timeout"/> (zero: unbounded here).</summary>
    /// <typeparam name="T">The call's result.</typeparam>
    /// <typeparam name="TState">What the call needs, passed without a closure.</typeparam>
    /// <param name="call">Makes the call.</param>
    /// <param name="state">Passed to <paramref name="call"/>.</param>
    /// <param name="timeout">How long to wait, such as <see cref="DurableTimeout"/> for a durable write.</param>
    /// <returns>The call's result.</returns>
    public ValueTask<T> RunAsync<T, TState>(Func<TState, Task<T>> call, TState state, TimeSpan timeout) =>
        RunCoreAsync(call, state, timeout, probe: Admit());

    /// <summary>
    /// Runs a call that must reach Redis even while the circuit is open: an invalidation. Refused, it would not be sent
    /// at all, and another instance whose circuit closed sooner could read the value it was to remove; sent, a hung
    /// Redis runs it when it wakes, before it answers reads made after it. Bounded by <see cref="Timeout"/> and
    /// counted like any call; while the circuit is open it counts as a probe (its success closes the circuit).
    /// </summary>
    internal ValueTask<T> RunUnrefusedAsync<T, TState>(Func<TState, Task<T>> call, TState state) =>
        RunCoreAsync(call, state, Timeout, probe: Enabled && _state != State.Closed);

    private async ValueTask<T> RunCoreAsync<T, TState>(Func<TState, Task<T>> call, TState state, TimeSpan timeout, bool probe)
    {
        var failed = false;
        Task<T>? sent = null;
        try
        {
            sent = call(state);
            return await Bound(sent, timeout).ConfigureAwait(false);
        }
        catch (Exception ex) when (Trips(ex))
        {
            failed = true;
            Abandon(sent, ex);
            throw;
        }
        finally
        {
            Record(failed, probe);
        }
    }

    /// <summary>
    /// A call its caller made itself after <see cref="Admit"/> (the hit and miss paths, to spare a state machine), bounded
    /// by <see cref="Timeout"/> and reported to the guard (<see cref="Record"/>) as it ends or times out.
    /// </summary>
    internal ValueTask<T> Recorded<T>(Task<T> sent, bool probe) => _deadlines.Recorded(sent, probe);

    /// <summary>
    /// After a timeout: the call still completes or fails in the connection later; its outcome is observed so it is
    /// not reported as an unobserved exception.
    /// </summary>
    internal static void Abandon(Task? sent, Exception failure)
    {
        if (failure is TimeoutException && sent is { IsCompleted: false })
            _ = sent.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private ValueTask<T> Bound<T>(Task<T> call, TimeSpan timeout) =>
        call.IsCompleted || timeout <= TimeSpan.Zero ? new ValueTask<T>(call)
        : timeout == _deadlines.Timeout ? _deadlines.Bound(call)
        : timeout == _durableDeadlines?.Timeout ? _durableDeadlines.Bound(call)
        : new ValueTask<T>(call.WaitAsync(timeout));

    /// <summary>
    /// Lets a call through (true if it is the one probe after a break), or throws while the circuit is open. A caller
    /// that makes the call itself (the hit path, to spare a state machine) reports it with <see cref="Record"/>.
    /// </summary>
    internal bool Admit()
    {
        if (_state == State.Closed || !Enabled)
            return false;
        lock (_lock)
        {
            if (_state == State.Open && _time.GetElapsedTime(_openedAt) >= _breakDuration)
            {
                _state = State.HalfOpen;
                return true;
            }

            if (_state != State.Closed)
                throw new RedisCircuitOpenException();
            return false;
        }
    }

    /// <summary>Counts a call let through by <see cref="Admit"/>: <paramref name="failed"/> if it <see cref="Trips"/>.</summary>
    internal void Record(bool failed, bool probe)
    {
        if (!Enabled)
            return;
        var now = _time.GetTimestamp();
        var window = _window;
        if (!failed && !probe && _time.GetElapsedTime(window.Start, now) < SamplingDuration)
        {
            Interlocked.Increment(ref window.Calls);
            // Read first: a write on every call would contend for the cache line on the hit path.
            if (Volatile.Read(ref _consecutive) != 0)
                Volatile.Write(ref _consecutive, 0);
            return;
        }

        lock (_lock)
        {
            if (probe || _time.GetElapsedTime(_window.Start, now) >= SamplingDuration)
                _window = new Window(now);
            _consecutive = failed ? _consecutive + 1 : 0;
            if (probe)
            {
                _state = failed ? State.Open : State.Closed;
                _openedAt = now;
                return;
            }

            Interlocked.Increment(ref _window.Calls);
            if (!failed)
                return;
            _window.Failures++;
            var ratio = _window.Calls >= _minimumThroughput && _window.Failures >= FailureRatio * _window.Calls;
            if (_state == State.Closed && (ratio || _consecutive >= _consecutiveLimit))
            {
                _state = State.Open;
                _openedAt = now;
            }
        }
    }

    /// <summary>The calls and failures counted since <see cref="Start"/> (a timestamp).</summary>
    private sealed class Window(long start)
    {
        public readonly long Start = start;
        public int Calls;
        public int Failures;
    }
}
