using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using CacheFlow.Api.Data;
using CacheFlow.Redis;

namespace CacheFlow.Api.Health;

/// <summary>
/// What the background workers (the outbox relay, the write-behind flusher and its login flush, warming, the demo
/// load) make of a failure, in one place. Every failure is counted (<c>cacheflow.background.failures</c>, tagged with
/// the worker and whether it was an outage) and the worker tries again later; none stops the host. A failure that is
/// not an outage of the database or Redis is a bug or a broken database: it is logged as an error (event 2122) and
/// <c>/health/ready</c> reports it until the worker next succeeds.
/// </summary>
public sealed class BackgroundFailures
{
    private readonly ConcurrentDictionary<string, Fault> _faults = new(StringComparer.Ordinal);
    private readonly Counter<long> _failures;
    private readonly ILogger<BackgroundFailures> _logger;

    /// <summary>Creates the counter on the <c>CacheFlow</c> meter.</summary>
    public BackgroundFailures(IMeterFactory meters, ILogger<BackgroundFailures> logger)
    {
        _logger = logger;
        _failures = meters.Create(CacheFlowMeter.Name).CreateCounter<long>("cacheflow.background.failures", "{failure}",
            "Failed attempts of background work, by worker and by whether the database or Redis was unavailable.");
    }

    /// <summary>The workers whose last attempt failed other than by an outage, with that failure.</summary>
    public IReadOnlyDictionary<string, Fault> Faults => _faults;

    /// <summary>
    /// Test switch: a fault is thrown on after it is recorded, as background work did before this class, so a test
    /// can show what that did to the host (it stopped, or did not start).
    /// </summary>
    internal bool Rethrow { get; set; }

    /// <summary>Records that <paramref name="worker"/>'s attempt succeeded: a fault it had is over.</summary>
    public void Succeeded(string worker)
    {
        if (_faults.TryRemove(worker, out _))
            Log.BackgroundRecovered(_logger, worker);
    }

    /// <summary>
    /// Records a failed attempt of <paramref name="worker"/>. Returns true if it was an outage of the database or Redis
    /// (<see cref="DatabaseFailure.IsUnavailable"/>, <see cref="RedisGuard.IsFailure"/>), which the caller logs in its
    /// own words; anything else is logged here as an error and shown by readiness.
    /// </summary>
    public bool Failed(string worker, Exception exception)
    {
        var outage = DatabaseFailure.IsUnavailable(exception) || RedisGuard.IsFailure(exception);
        _failures.Add(1, new KeyValuePair<string, object?>("worker", worker), new KeyValuePair<string, object?>("outage", outage));
        if (outage)
        {
            // The worker's last attempt did not fail that way: readiness reports the outage through its own checks.
            _faults.TryRemove(worker, out _);
            return true;
        }

        _faults.AddOrUpdate(worker, _ => new Fault(exception.GetType().Name, 1), (_, fault) => fault with { Attempts = fault.Attempts + 1, Error = exception.GetType().Name });
        Log.BackgroundFailed(_logger, exception, worker);
        if (Rethrow)
            throw new InvalidOperationException($"{worker} failed", exception);
        return false;
    }

    /// <summary>A worker's failure that is not an outage.</summary>
    /// <param name="Error">The exception's type (the log has the rest).</param>
    /// <param name="Attempts">How many attempts in a row have failed so.</param>
    public sealed record Fault(string Error, int Attempts);
}
