using CacheFlow.Redis;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace CacheFlow.Tests;

/// <summary>The circuit breaker in front of Redis, on a fake clock: when it opens, the one probe after a break, closing.</summary>
public sealed class RedisGuardTests
{
    private static readonly TimeSpan Break = TimeSpan.FromSeconds(5);
    private readonly FakeTimeProvider _time = new();
    private readonly RedisGuard _guard;
    private int _calls;

    // The ratio rule alone (failures in a row are tested with a guard of their own).
    public RedisGuardTests() => _guard = new RedisGuard(new CacheFlowOptions { CircuitBreakDuration = Break, CircuitBreakerMinimumThroughput = 4, CircuitBreakerConsecutiveFailures = 100 }, _time);

    private Task<int> Call(bool fail) => _guard.RunAsync(static s => s.Self.Redis(s.Fail), (Self: this, Fail: fail)).AsTask();

    private Task<int> Redis(bool fail)
    {
        Interlocked.Increment(ref _calls);
        return fail ? Task.FromException<int>(new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, "down", null, CommandStatus.Unknown)) : Task.FromResult(1);
    }

    private async Task FailAsync(int times)
    {
        for (var i = 0; i < times; i++)
            await Assert.ThrowsAsync<RedisConnectionException>(() => Call(fail: true));
    }

    [Fact]
    public async Task HalfTheCallsFailingOpensTheCircuitAndCallsDuringTheBreakNeverReachRedis()
    {
        await Call(fail: false);
        await Call(fail: false);
        await FailAsync(2);

        await Assert.ThrowsAsync<RedisCircuitOpenException>(() => Call(fail: false));
        _time.Advance(Break - TimeSpan.FromMilliseconds(1));
        await Assert.ThrowsAsync<RedisCircuitOpenException>(() => Call(fail: false));
        Assert.Equal(4, _calls);
    }

    [Fact]
    public async Task ControlFewerFailuresThanHalfOrTooFewCallsKeepItClosed()
    {
        // Three failures are too few calls; then 4 failures in 9 calls are under half.
        await FailAsync(3);
        for (var i = 0; i < 5; i++)
            await Call(fail: false);
        await FailAsync(1);

        Assert.Equal(1, await Call(fail: false));
        Assert.Equal(10, _calls);
    }

    [Fact]
    public async Task FailuresOfAnEarlierWindowDoNotCount()
    {
        await FailAsync(3);
        _time.Advance(TimeSpan.FromSeconds(10));
        await FailAsync(1);

        Assert.Equal(1, await Call(fail: false));
    }

    [Fact]
    public async Task AfterTheBreakOneProbeGoesThroughAloneAndItsSuccessClosesTheCircuit()
    {
        await FailAsync(4);
        _time.Advance(Break);
        var probeHeld = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);

        var probe = _guard.RunAsync(static held => held.Task, probeHeld).AsTask();
        await Assert.ThrowsAsync<RedisCircuitOpenException>(() => Call(fail: false));
        probeHeld.SetResult(7);

        Assert.Equal(7, await probe);
        Assert.Equal(1, await Call(fail: false));
        Assert.Equal(5, _calls);
    }

    [Fact]
    public async Task AFailedProbeOpensTheCircuitForAnotherBreak()
    {
        await FailAsync(4);
        _time.Advance(Break);

        await FailAsync(1);

        await Assert.ThrowsAsync<RedisCircuitOpenException>(() => Call(fail: false));
        _time.Advance(Break);
        Assert.Equal(1, await Call(fail: false));
    }

    [Fact]
    public async Task AProbeThatFailsForAnotherReasonStillEndsTheHalfOpenState()
    {
        await FailAsync(4);
        _time.Advance(Break);

        // A script error, say: Redis answered, so the circuit closes rather than staying half-open for good.
        await Assert.ThrowsAsync<InvalidOperationException>(() => _guard.RunAsync<int, int>(static _ => throw new InvalidOperationException("not Redis"), 0).AsTask());

        Assert.Equal(1, await Call(fail: false));
    }

    [Fact]
    public async Task FailuresInARowOpenTheCircuitWhateverSucceededBeforeThemInTheWindow()
    {
        var guard = new RedisGuard(new CacheFlowOptions { CircuitBreakDuration = Break, CircuitBreakerMinimumThroughput = 1000, CircuitBreakerConsecutiveFailures = 3 }, _time);
        for (var i = 0; i < 50; i++)
            await guard.RunAsync(static s => s.Redis(fail: false), this);
        for (var i = 0; i < 3; i++)
            await Assert.ThrowsAsync<RedisConnectionException>(() => guard.RunAsync(static s => s.Redis(fail: true), this).AsTask());

        await Assert.ThrowsAsync<RedisCircuitOpenException>(() => guard.RunAsync(static s => s.Redis(fail: false), this).AsTask());
        Assert.Equal(53, _calls);
    }

    [Fact]
    public async Task ControlASuccessBetweenFailuresStartsTheCountAgain()
    {
        var guard = new RedisGuard(new CacheFlowOptions { CircuitBreakDuration = Break, CircuitBreakerMinimumThroughput = 1000, CircuitBreakerConsecutiveFailures = 3 }, _time);
        for (var i = 0; i < 4; i++)
        {
            await Assert.ThrowsAsync<RedisConnectionException>(() => guard.RunAsync(static s => s.Redis(fail: true), this).AsTask());
            await Assert.ThrowsAsync<RedisConnectionException>(() => guard.RunAsync(static s => s.Redis(fail: true), this).AsTask());
            await guard.RunAsync(static s => s.Redis(fail: false), this);
        }

        Assert.False(guard.IsOpen);
    }

    [Fact]
    public async Task ACallThatHangsFailsAfterTheTimeoutAndCountsAgainstRedis()
    {
        var guard = new RedisGuard(new CacheFlowOptions { CircuitBreakDuration = Break, RedisTimeout = TimeSpan.FromMilliseconds(50), CircuitBreakerConsecutiveFailures = 1 }, _time);
        var never = new TaskCompletionSource<int>();

        await Assert.ThrowsAsync<TimeoutException>(() => guard.RunAsync(static t => t.Task, never).AsTask());

        Assert.True(guard.IsOpen);
        Assert.True(RedisGuard.IsFailure(new RedisTimeoutException(CommandFlags.None, "timed out", CommandStatus.Sent)));
    }

    [Fact]
    public async Task AZeroBreakDurationTurnsTheBreakerOff()
    {
        var guard = new RedisGuard(new CacheFlowOptions { CircuitBreakDuration = TimeSpan.Zero, CircuitBreakerMinimumThroughput = 2 }, _time);
        for (var i = 0; i < 10; i++)
            await Assert.ThrowsAsync<RedisConnectionException>(() => guard.RunAsync(static s => s.Redis(fail: true), this).AsTask());

        Assert.Equal(10, _calls);
    }
}
