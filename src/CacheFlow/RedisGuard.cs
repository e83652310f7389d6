using Polly;
using Polly.CircuitBreaker;
using StackExchange.Redis;

namespace CacheFlow;

/// <summary>
/// Runs Redis calls behind a circuit breaker (Polly): when half the calls in 10 seconds fail, Redis is left alone
/// for the break, and every call during it fails at once with <see cref="BrokenCircuitException"/> instead of
/// costing a timeout. After the break one call tries Redis again; success closes the circuit.
/// </summary>
internal sealed class RedisGuard
{
    private readonly ResiliencePipeline _pipeline;

    public RedisGuard(CacheFlowOptions options, TimeProvider time)
    {
        _pipeline = options.CircuitBreakDuration <= TimeSpan.Zero
            ? ResiliencePipeline.Empty
            : new ResiliencePipelineBuilder { TimeProvider = time }
                .AddCircuitBreaker(new CircuitBreakerStrategyOptions
                {
                    FailureRatio = 0.5,
                    SamplingDuration = TimeSpan.FromSeconds(10),
                    MinimumThroughput = options.CircuitBreakerMinimumThroughput,
                    BreakDuration = options.CircuitBreakDuration,
                    ShouldHandle = new PredicateBuilder().Handle<RedisConnectionException>().Handle<RedisTimeoutException>(),
                })
                .Build();
    }

    /// <summary>Whether <paramref name="exception"/> means Redis could not serve a call (as opposed to a bug).</summary>
    public static bool IsFailure(Exception exception) =>
        exception is RedisException or RedisTimeoutException or BrokenCircuitException;

    public ValueTask<T> RunAsync<T, TState>(Func<TState, Task<T>> call, TState state) =>
        _pipeline.ExecuteAsync(static (s, _) => new ValueTask<T>(s.call(s.state)), (call, state));
}
