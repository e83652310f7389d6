using System.ComponentModel.DataAnnotations;
using System.Diagnostics.Metrics;
using CacheFlow.Api.Data;
using CacheFlow.Api.Health;
using Microsoft.Extensions.Options;

namespace CacheFlow.Api.Users;

/// <summary>
/// Relays the cache outbox: every change of a user, by the API or by any other client of the database, is recorded by
/// the database in the change's own transaction (<c>cache_outbox</c>, written by a trigger), and this service applies
/// each recorded change to the cache (the user's entry and every list page out), then deletes the rows. The API's
/// requests invalidate right after their commit as before (the fast path); the relay is what makes an invalidation
/// survive what the fast path cannot (Redis down or hung when the change was made, a crash of the process before Redis
/// took it) and what invalidates changes made outside the API.
/// </summary>
/// <remarks>
/// <para>
/// At start, before the API takes requests, every user with a recorded change is invalidated (claimed or not: a claim
/// may be a dead instance's) or, if Redis does not answer, kept pending in the cache, so this instance's reads of those
/// users bypass the cache until it is applied. Then each tick claims the rows that were there at the previous tick
/// (<see cref="IUserRepository.ClaimOutboxAsync"/>: a row is applied by one instance of however many relay the outbox,
/// and by another if its claim runs out), applies them and deletes them. A row is at least an interval old when it is
/// applied: the request that made a change has invalidated it already, and applying it again at once would also drop
/// the entry a create just wrote through, before the reads right after the create had hit it.
/// </para>
/// <para>
/// With <see cref="OutboxOptions.Enabled"/> off, the rows are claimed and deleted unapplied, so the table never grows.
/// A failure never stops the host nor its start: it is counted and reported (<see cref="BackgroundFailures"/>) and the
/// next tick tries again.
/// </para>
/// </remarks>
internal sealed class UserInvalidationRelay(
    IUserRepository users, ICacheFlow cache, BackgroundFailures failures, IMeterFactory meters, IOptions<OutboxOptions> options, TimeProvider time,
    ILogger<UserInvalidationRelay> logger) : BackgroundService
{
    /// <summary>The worker's name in logs, metrics and readiness.</summary>
    public const string Worker = "outbox";

    private const int Batch = 1000;

    private readonly Counter<long> _applied = meters.Create(CacheFlowMeter.Name).CreateCounter<long>("cacheflow.outbox.applied", "{row}",
        "Cache outbox rows whose invalidations this instance applied.");

    private long _horizon;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await AttemptAsync(async ct =>
        {
            var horizon = await users.OutboxHorizonAsync(ct);
            if (options.Value.Enabled)
            {
                foreach (var batch in (await users.OutboxUsersAsync(ct)).Chunk(Batch))
                    await InvalidateAsync(batch);
            }

            _horizon = horizon;
        }, cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Value.Interval, time, stoppingToken);
                await AttemptAsync(RelayAsync, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>Runs one attempt; a failure is reported, never thrown (but a cancellation of <paramref name="cancellationToken"/> is).</summary>
    private async Task AttemptAsync(Func<CancellationToken, Task> attempt, CancellationToken cancellationToken)
    {
        try
        {
            await attempt(cancellationToken);
            failures.Succeeded(Worker);
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            if (failures.Failed(Worker, ex))
                Log.OutboxUnavailable(logger, ex);
        }
    }

    /// <summary>Claims, applies and deletes the rows up to the horizon, a batch at a time; stops at the first batch Redis does not take.</summary>
    private async Task RelayAsync(CancellationToken cancellationToken)
    {
        var next = await users.OutboxHorizonAsync(cancellationToken);
        while (true)
        {
            var claim = Guid.NewGuid().ToString("N");
            var rows = await users.ClaimOutboxAsync(claim, _horizon, Batch, options.Value.ClaimDuration, cancellationToken);
            if (rows.Count == 0)
                break;
            if (options.Value.Enabled)
            {
                if (!await InvalidateAsync([.. rows.Select(r => r.UserId).Distinct()]))
                {
                    // The cache keeps what Redis did not take (this instance bypasses it meanwhile); the rows go back to
                    // the outbox for the next claim, by this relay or one whose Redis answers.
                    await users.ReleaseOutboxAsync(claim, CancellationToken.None);
                    return;
                }

                _applied.Add(rows.Count);
            }

            // Not cancelled once applied: a row left behind is applied again after its claim runs out.
            await users.ForgetOutboxAsync(claim, CancellationToken.None);
            if (rows.Count < Batch)
                break;
        }

        _horizon = next;
    }

    /// <summary>Removes the users' entries and every list page; false if Redis did not take all of it (the cache keeps the rest pending).</summary>
    private async Task<bool> InvalidateAsync(IReadOnlyCollection<long> ids)
    {
        if (ids.Count == 0)
            return true;
        // Not cancelled once started: the cache keeps what Redis does not take, and the rows stay until it has.
        var removed = await Task.WhenAll(ids.Select(id => cache.RemoveAsync(UserCacheKeys.User(id), CancellationToken.None).AsTask()));
        var lists = await cache.RemoveByTagAsync(UserCacheKeys.Lists, CancellationToken.None);
        return lists >= 0 && removed.All(r => r);
    }
}

/// <summary>How the cache outbox is relayed (configuration section <c>Outbox</c>).</summary>
public sealed class OutboxOptions
{
    /// <summary>
    /// Whether recorded changes are applied to the cache. Off, the rows are deleted unapplied (the table does not grow)
    /// and an invalidation Redis did not take survives only in the memory of the process that made it, while changes
    /// made outside the API are not invalidated at all (tests turn it off to show what the outbox prevents). It is a
    /// setting of the deployment, not of one instance: an instance with it off deletes rows the others would apply.
    /// </summary>
    /// <value>The default value is true.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>How often the relay applies the changes recorded before its previous tick.</summary>
    /// <value>The default value is 1 second.</value>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a relay's claim on a batch of rows holds: the longest it may take to apply them before another
    /// instance's relay takes them over (the claiming instance died or hangs). Applying is bounded by the Redis and
    /// database timeouts, far below it.
    /// </summary>
    /// <value>The default value is 10 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan ClaimDuration { get; set; } = TimeSpan.FromSeconds(10);
}
