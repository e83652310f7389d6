using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CacheFlow.Api.Redis;

/// <summary>
/// Checks the Redis that holds durable data: at start, before the API takes requests (a configuration that can lose
/// accepted writes fails the start, unless <see cref="DurableDataOptions.AllowDataLoss"/>; a Redis that does not
/// answer does not), whenever its connection is restored (what answers may have been restarted or replaced: until
/// then what was known is forgotten), when the cluster's shape changes, and every
/// <see cref="DurableDataOptions.CheckInterval"/> (CONFIG SET changes a running server). A check that finds it unsafe
/// logs an error, and <see cref="DurableRedis.EnsureAccepting"/> then sends durable writes to the database.
/// </summary>
internal sealed class DurableRedisMonitor(
    DurableRedis durable, IOptions<DurableDataOptions> options, IOptions<CacheFlowOptions> cache, TimeProvider time, ILogger<DurableRedisMonitor> logger)
    : BackgroundService
{
    private readonly SemaphoreSlim _checking = new(1, 1);
    private volatile bool _started;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        durable.Connection.ConnectionFailed += OnConnectionFailed;
        durable.Connection.ConnectionRestored += OnConnectionRestored;
        durable.Connection.ConfigurationChanged += OnConfigurationChanged;
        var verdict = await CheckAsync();
        if (verdict.State == DurableRedisState.Unchecked)
            Log.DurableDataUnchecked(logger, durable.Description);
        else if (verdict.State != DurableRedisState.Safe && durable.AllowsDataLoss)
            Log.DurableDataLossAccepted(logger, durable.Description, string.Join("; ", verdict.Problems));
        else if (verdict.State != DurableRedisState.Safe)
            throw new InvalidOperationException(Refusal(durable, verdict));
        _started = true;
        await base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        durable.Connection.ConnectionFailed -= OnConnectionFailed;
        durable.Connection.ConnectionRestored -= OnConnectionRestored;
        durable.Connection.ConfigurationChanged -= OnConfigurationChanged;
        await base.StopAsync(cancellationToken);
    }

    /// <summary>Checks now (one check at a time); returns the verdict, the last one known if Redis did not answer.</summary>
    public async Task<DurableRedisVerdict> CheckAsync()
    {
        await _checking.WaitAsync();
        try
        {
            var generation = durable.Generation;
            var servers = await DurableRedisInspector.ReadAsync(durable.Connection, cache.Value.DurableRedisTimeout);
            if (servers is null)
                return durable.Verdict;
            var verdict = DurableRedisInspector.Judge(servers);
            if (durable.TryRecord(verdict, generation) is { } previous && _started)
                Report(previous, verdict);
            return durable.Verdict;
        }
        finally
        {
            _checking.Release();
        }
    }

    /// <summary>The start-up error: what can lose writes and what to change, or how to accept it.</summary>
    internal static string Refusal(DurableRedis durable, DurableRedisVerdict verdict) =>
        $"Durable data (the write-behind queue, its statuses and dead letters, login counts, the leaderboard) is {durable.Description}, "
        + $"which {(verdict.State == DurableRedisState.Unsafe ? "can lose accepted writes" : "cannot be verified to keep them")}: "
        + string.Join("; ", verdict.Problems) + ". "
        + (durable.IsOwn ? "" : "Or give durable data a Redis of its own with ConnectionStrings:DurableRedis (maxmemory-policy noeviction, appendonly yes), and let the cache's evict. ")
        + "To start anyway, accepting that accepted writes can be lost, set DurableData:AllowDataLoss=true.";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.CheckInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
                await CheckSafelyAsync();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private void Report(DurableRedisVerdict previous, DurableRedisVerdict verdict)
    {
        if (verdict.State == previous.State && verdict.Summary == previous.Summary)
            return;
        var problems = string.Join("; ", verdict.Problems);
        if (verdict.State == DurableRedisState.Safe)
        {
            if (previous.State != DurableRedisState.Safe)
                Log.DurableDataSafe(logger, durable.Description, verdict.Summary);
        }
        else if (durable.AllowsDataLoss)
        {
            Log.DurableDataLossAccepted(logger, durable.Description, problems);
        }
        else
        {
            Log.DurableDataUnsafe(logger, durable.Description, problems);
        }
    }

    private async Task CheckSafelyAsync()
    {
        try
        {
            await CheckAsync();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.DurableDataCheckFailed(logger, ex);
        }
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Interactive)
            durable.Forget($"not checked since the connection to {EndPointCollection.ToString(e.EndPoint)} failed");
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Interactive)
            _ = CheckSafelyAsync();
    }

    private void OnConfigurationChanged(object? sender, EndPointEventArgs e) => _ = CheckSafelyAsync();
}
