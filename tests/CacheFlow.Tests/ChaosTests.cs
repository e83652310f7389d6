using StackExchange.Redis;

namespace CacheFlow.Tests;

/// <summary>
/// The cache over a Redis that hangs or throws (a <see cref="ChaosRedis"/> connection over embedded Garnet): callers
/// get their values from the source and no exception; a hung Redis costs a few callers a bounded wait, then the
/// circuit opens and nothing is sent to it; what it did not take is kept and applied once it answers, after the
/// commands it held (a stopped server runs them late).
/// </summary>
public sealed class ChaosTests(GarnetBackend backend) : IClassFixture<GarnetBackend>
{
    private readonly ChaosRedis _chaos = ChaosRedis.Over(backend.Redis);

    private CacheFlowCache Create(Action<CacheFlowOptions>? configure = null) => TestCaches.Create(_chaos.Connection, configure: o =>
    {
        o.RedisTimeout = TimeSpan.FromMilliseconds(100);
        o.CircuitBreakerConsecutiveFailures = 3;
        o.CircuitBreakDuration = TimeSpan.FromMinutes(1);
        configure?.Invoke(o);
    });

    private static ValueTask<Item> Source(int id, string name) => ValueTask.FromResult(new Item(id, name));

    [Fact]
    public async Task AHungRedisTimesOutAFewReadsThenTheCircuitOpensAndNoCallIsSentToIt()
    {
        using var cache = Create();
        _chaos.Fault = RedisFault.Hang;

        for (var i = 0; i < 10; i++)
            Assert.Equal((CacheOutcome.Bypass, "db"), Read(await cache.GetOrCreateAsync($"item:{i}", _ => Source(i, "db"))));

        // One GET per read until three in a row timed out; none after: the fallback does not ask Redis again either.
        Assert.Equal(3, _chaos.FaultedCalls);
        var stats = cache.GetStatistics().Total;
        Assert.Equal((10, 10, 3), (stats.Bypasses, stats.Loads, stats.Errors));
        _chaos.Resume();
    }

    [Theory]
    [InlineData("timeout")]
    [InlineData("connection")]
    [InlineData("plain-timeout")]
    public async Task EveryKindOfRedisFailureIsABypassNeverAnExceptionForTheCaller(string kind)
    {
        using var cache = Create(o => o.CircuitBreakDuration = TimeSpan.Zero);
        _chaos.Error = kind switch
        {
            "timeout" => new RedisTimeoutException(CommandFlags.None, "chaos: timed out", CommandStatus.Sent),
            "connection" => new RedisConnectionException(ConnectionFailureType.SocketFailure, CommandFlags.None, "chaos: connection lost"),
            _ => new TimeoutException("chaos: a plain timeout"),
        };
        _chaos.Fault = RedisFault.Throw;

        Assert.Equal((CacheOutcome.Bypass, "db"), Read(await cache.GetOrCreateAsync("item:1", _ => Source(1, "db"))));
        Assert.False(await cache.SetAsync("item:1", new Item(1, "x")));
        Assert.False(await cache.RemoveAsync("item:1"));
        Assert.Equal(-1, await cache.RemoveByTagAsync("items"));
        _chaos.Fault = RedisFault.None;
    }

    /// <summary>
    /// A write-through of v1 sent while Redis hangs: the caller gives up after the timeout, Redis carries the SET out
    /// when it resumes. Returns what a read sees once everything the stall held has run and pending work is applied.
    /// </summary>
    private async Task<(CacheOutcome Outcome, string Name)> ReadAfterAWriteThroughThatRanLateAsync(CacheFlowCache cache)
    {
        _chaos.Fault = RedisFault.Hang;
        Assert.False(await cache.SetAsync("item:1", new Item(1, "v1")));
        Assert.Equal(1, _chaos.Hung);

        // Meanwhile the row changed again (v2) and this instance reads around the key it could not write.
        Assert.Equal((CacheOutcome.Bypass, "v2"), Read(await cache.GetOrCreateAsync("item:1", _ => Source(1, "v2"))));
        _chaos.Resume();
        await Eventually.TrueAsync(() => _chaos.Hung == 0, "the held SET ran");
        await cache.ApplyPendingAsync();
        return Read(await cache.GetOrCreateAsync("item:1", _ => Source(1, "v2")));
    }

    [Fact]
    public async Task AWriteThroughThatRanLateInAHungRedisIsRemovedOnceItAnswers()
    {
        using var cache = Create(o => o.CircuitBreakDuration = TimeSpan.Zero);

        Assert.Equal((CacheOutcome.Miss, "v2"), await ReadAfterAWriteThroughThatRanLateAsync(cache));
    }

    [Fact]
    public async Task ControlWithoutKeepingTheRemovalTheLateWriteThroughIsServed()
    {
        using var cache = Create(o => { o.CircuitBreakDuration = TimeSpan.Zero; o.Protections &= ~CacheProtections.KeepInvalidations; });

        Assert.Equal((CacheOutcome.Hit, "v1"), await ReadAfterAWriteThroughThatRanLateAsync(cache));
    }

    private static (CacheOutcome, string) Read(CacheResult<Item?> result) => (result.Outcome, result.Value!.Name);
}
