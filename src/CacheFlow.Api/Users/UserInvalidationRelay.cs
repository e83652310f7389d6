using System.ComponentModel.DataAnnotations;
using CacheFlow.Api.Data;
using Microsoft.Extensions.Options;

namespace CacheFlow.Api.Users;

/// <summary>
/// Relays the cache outbox: every change of a user is recorded by the database in the change's own transaction
/// (<c>cache_outbox</c>, written by a trigger), and this service applies each recorded change to the cache (the user's
/// entry and every list page out), then deletes the rows. The requests invalidate right after their commit as
/// before (the fast path); the relay is what makes an invalidation survive what the fast path cannot: Redis down or
/// hung when the change was made (the cache also keeps it in memory), and a crash of the process before Redis took it.
/// </summary>
/// <remarks>
/// At start, before the API takes requests, every recorded change is applied or, if Redis does not answer, kept
/// pending in the cache, so this instance's reads of those users bypass the cache until it is applied. Then each tick
/// applies the rows that were there at the previous tick (at least an interval old: the fast path has had its
/// chance, and re-applying is harmless). Any number of instances may relay one outbox: an invalidation applied twice
/// is the same as once.
/// </remarks>
internal sealed class UserInvalidationRelay(IUserRepository users, ICacheFlow cache, IOptions<OutboxOptions> options, TimeProvider time, ILogger<UserInvalidationRelay> logger)
    : BackgroundService
{
    private const int Batch = 1000;

    private long _horizon;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.Enabled)
            return;
        _horizon = await users.OutboxHorizonAsync(cancellationToken);
        await ApplyAsync(_horizon, cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Value.Interval, time, stoppingToken);
                await ApplyAsync(_horizon, stoppingToken);
                _horizon = await users.OutboxHorizonAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (DatabaseFailure.IsUnavailable(ex))
            {
                Log.OutboxUnavailable(logger, ex);
            }
        }
    }

    /// <summary>Applies the recorded changes with ids up to <paramref name="upTo"/>; stops at the first batch Redis does not take.</summary>
    internal async Task ApplyAsync(long upTo, CancellationToken cancellationToken)
    {
        while (true)
        {
            var rows = await users.OutboxAsync(upTo, Batch, cancellationToken);
            if (rows.Count == 0)
                return;
            // Not cancelled once started: the cache keeps what Redis does not take, and the rows stay until it has.
            var removed = await Task.WhenAll(rows.Select(r => r.UserId).Distinct().Select(id => cache.RemoveAsync(UserCacheKeys.User(id), CancellationToken.None).AsTask()));
            var lists = await cache.RemoveByTagAsync(UserCacheKeys.Lists, CancellationToken.None);
            if (removed.Any(r => !r) || lists < 0)
                return;
            await users.ForgetOutboxAsync([.. rows.Select(r => r.Id)], CancellationToken.None);
            if (rows.Count < Batch)
                return;
        }
    }
}

/// <summary>How the cache outbox is relayed (configuration section <c>Outbox</c>).</summary>
public sealed class OutboxOptions
{
    /// <summary>
    /// Whether recorded changes are relayed to the cache. Off, an invalidation Redis did not take survives only in the
    /// memory of the process that made it (tests turn it off to show what the outbox prevents).
    /// </summary>
    /// <value>The default value is true.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>How often the relay applies the changes recorded since its last tick.</summary>
    /// <value>The default value is 1 second.</value>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);
}
