using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using CacheFlow.Api.Data;
using CacheFlow.Api.Health;
using CacheFlow.Api.Users;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace CacheFlow.Api.Warming;

/// <summary>
/// Loads the most active users into the cache, in batches. Each user goes through the normal read path (lease,
/// lease-checked write-back), so warming never overwrites a newer value with an older one.
/// </summary>
public sealed class CacheWarmer(IUserRepository users, UserReader reader, ICacheFlow cache, IOptions<WarmingOptions> options, TimeProvider time, ILogger<CacheWarmer> logger)
{
    private volatile bool _completed;

    /// <summary>Whether a warming has finished since the start.</summary>
    public bool Completed => _completed;

    /// <summary>
    /// Warms the top users by login count; returns how many are now cached. <paramref name="paced"/> pauses after each
    /// batch as long as the batch took, so warming takes at most half of what the database and Redis can give and the
    /// requests that arrive meanwhile get the rest.
    /// </summary>
    public async Task<int> WarmAsync(CancellationToken cancellationToken, bool paced = false)
    {
        var started = Stopwatch.GetTimestamp();
        var top = await users.TopByLoginsAsync(options.Value.TopUsers, cancellationToken);
        var warmed = 0;
        foreach (var batch in top.Chunk(options.Value.BatchSize))
        {
            var batchStarted = time.GetTimestamp();
            var loads = await Task.WhenAll(batch.Select(u =>
                cache.GetOrCreateAsync(UserCacheKeys.User(u.Id), ct => reader.LoadAsync(u.Id, ct), UserCacheKeys.UserEntry, cancellationToken).AsTask()));
            warmed += loads.Count(l => l.Value is not null);
            if (paced)
                await Task.Delay(time.GetElapsedTime(batchStarted), time, cancellationToken);
        }

        _completed = true;
        Log.Warmed(logger, warmed, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return warmed;
    }
}

/// <summary>
/// Warms the cache once at start, in the background once the server takes requests, paced so that the first requests
/// are not queued behind it. A warming that fails is reported (<see cref="BackgroundFailures"/>) and tried again, after
/// 1 s, then twice as long each time up to a minute, until one succeeds.
/// </summary>
internal sealed class StartupWarming(
    CacheWarmer warmer, BackgroundFailures failures, IOptions<WarmingOptions> options, IHostApplicationLifetime lifetime, TimeProvider time, ILogger<StartupWarming> logger)
    : BackgroundService
{
    /// <summary>The worker's name in logs, metrics and readiness.</summary>
    public const string Worker = "warming";

    private static readonly TimeSpan LongestPause = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.OnStartup)
            return;
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            try
            {
                await started.Task;
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        for (var pause = TimeSpan.FromSeconds(1); !stoppingToken.IsCancellationRequested; pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, LongestPause.Ticks)))
        {
            try
            {
                await warmer.WarmAsync(stoppingToken, paced: true);
                failures.Succeeded(Worker);
                return;
            }
            catch (Exception ex) when (!(ex is OperationCanceledException && stoppingToken.IsCancellationRequested))
            {
                if (failures.Failed(Worker, ex))
                    Log.WarmingFailed(logger, ex);
            }

            try
            {
                await Task.Delay(pause, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}

/// <summary>Readiness waits for the first warming when <see cref="WarmingOptions.ReadyAfterWarming"/> is set.</summary>
internal sealed class WarmingHealthCheck(CacheWarmer warmer, IOptions<WarmingOptions> options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(!options.Value.ReadyAfterWarming || warmer.Completed
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("The cache is still warming."));
}

/// <summary>Cache warming (configuration section <c>Warming</c>).</summary>
public sealed class WarmingOptions
{
    /// <summary>How many of the most active users are warmed (and seeded on the leaderboard).</summary>
    /// <value>The default value is 100.</value>
    [Range(0, 100_000)]
    public int TopUsers { get; set; } = 100;

    /// <summary>How many users are loaded at once.</summary>
    /// <value>The default value is 20.</value>
    [Range(1, 1_000)]
    public int BatchSize { get; set; } = 20;

    /// <summary>Whether to warm at start (in the background).</summary>
    /// <value>The default value is true.</value>
    public bool OnStartup { get; set; } = true;

    /// <summary>Whether <c>/health/ready</c> waits for the first warming to finish.</summary>
    /// <value>The default value is false.</value>
    public bool ReadyAfterWarming { get; set; }
}
