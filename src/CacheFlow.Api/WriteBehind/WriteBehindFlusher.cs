using System.Globalization;
using System.Text.Json;
using CacheFlow.Api.Data;
using CacheFlow.Api.Health;
using CacheFlow.Api.Http;
using CacheFlow.Api.Users;
using CacheFlow.WriteBehind;
using Microsoft.Extensions.Options;

namespace CacheFlow.Api.WriteBehind;

/// <summary>
/// Applies queued writes to the database in batches: creates through <see cref="IUserRepository.ApplyCreatesAsync"/>
/// (idempotent by request id), then the cache is written through and the status says done. Transient failures are
/// retried with backoff, clashes and values the database refuses are dead-lettered at once, each alone (retrying
/// cannot fix them), with a public <see cref="WriteError"/>; while the database does not
/// answer at all the writes wait on the queue without spending attempts. Also flushes login counts,
/// returns the writes of dead flushers to the queue, and on shutdown drains what it can in the host's shutdown timeout.
/// Any number of API instances can run it on one queue.
/// </summary>
internal sealed class WriteBehindFlusher(
    WriteBehindQueue queue, LoginCounter logins, IUserRepository users, ICacheFlow cache, BackgroundFailures failures,
    IOptions<WriteBehindOptions> options, IOptions<LoginOptions> loginOptions, TimeProvider time, ILogger<WriteBehindFlusher> logger) : BackgroundService
{
    public const string CreateUser = "create_user";

    /// <summary>The worker's name in logs, metrics and readiness.</summary>
    public const string Worker = "write-behind";

    /// <summary>The login flush's name in logs, metrics and readiness.</summary>
    public const string LoginsWorker = "logins";

    private CancellationToken _drainDeadline = CancellationToken.None;

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // The host cancels this token when its shutdown timeout runs out: draining stops there.
        _drainDeadline = cancellationToken;
        await base.StopAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var sinceLogins = time.GetTimestamp();
        var sinceReap = time.GetTimestamp();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var flushed = await FlushBatchAsync(CancellationToken.None);
                if (time.GetElapsedTime(sinceLogins) >= loginOptions.Value.FlushInterval)
                {
                    await FlushLoginsAsync();
                    sinceLogins = time.GetTimestamp();
                }

                if (time.GetElapsedTime(sinceReap) >= options.Value.ConsumerTimeout / 3)
                {
                    await queue.ReapAsync();
                    sinceReap = time.GetTimestamp();
                }

                await queue.MeasureAsync();
                failures.Succeeded(Worker);
                if (flushed == 0)
                    await Task.Delay(options.Value.FlushInterval, time, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // Redis or the database is down (or a bug): try again after a pause. What this flusher took and did not
                // finish goes back to the queue first (applying is idempotent), or it would wait for this process to stop.
                if (failures.Failed(Worker, ex))
                    Log.FlushFailed(logger, ex);
                var pause = DatabaseFailure.IsUnavailable(ex) ? options.Value.RetryBaseDelay : options.Value.FlushInterval;
                await Task.Delay(pause, time, CancellationToken.None);
                await ReleaseTakenAsync();
            }
        }

        await DrainAsync();
    }

    /// <summary>Applies the counted logins; a failure leaves them counted in Redis for the next flush, and the writes go on.</summary>
    private async Task FlushLoginsAsync()
    {
        try
        {
            await logins.FlushAsync(users, CancellationToken.None);
            failures.Succeeded(LoginsWorker);
        }
        catch (Exception ex)
        {
            if (failures.Failed(LoginsWorker, ex))
                Log.FlushFailed(logger, ex);
        }
    }

    private async Task DrainAsync()
    {
        try
        {
            while (!_drainDeadline.IsCancellationRequested && await FlushBatchAsync(_drainDeadline) > 0)
            {
                // Keep applying whole batches while the queue has writes and the shutdown timeout lasts.
            }

            await logins.FlushAsync(users, _drainDeadline);
        }
        catch (Exception ex)
        {
            Log.FlushFailed(logger, ex);
        }
        finally
        {
            // What this instance took and did not apply goes back to the queue for others (or the next start).
            await ReleaseTakenAsync();
        }
    }

    private async Task ReleaseTakenAsync()
    {
        try
        {
            await queue.ReleaseAsync();
        }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException or ObjectDisposedException)
        {
            // Disposed: the host gave up waiting for the drain and closed the connection; the writes stay taken
            // until another flusher (or the next start) reaps them after the consumer timeout.
            Log.FlushFailed(logger, ex);
        }
    }

    /// <summary>Takes and applies one batch; returns how many writes it took.</summary>
    private async Task<int> FlushBatchAsync(CancellationToken cancellationToken)
    {
        var batch = await queue.TakeAsync(options.Value.BatchSize);
        if (batch.Count == 0)
            return 0;

        var creates = new List<(QueuedWrite Write, QueuedCreate Create)>(batch.Count);
        foreach (var write in batch)
        {
            if (write.Kind != CreateUser || write.Payload.Deserialize(ApiJsonContext.Default.CreateUserRequest) is not { Username: { } u, Email: { } e } request)
            {
                await FailAsync(write, WriteError.UnknownWrite, permanent: true);
                continue;
            }

            // The endpoint checked it; a write queued by an older version (or past the endpoint) is checked again
            // here, so that it fails alone rather than in the database with its whole batch.
            var errors = UserValidation.Validate(u, e, required: true);
            if (errors.Count > 0)
            {
                var (field, rules) = errors.First();
                await FailAsync(write, WriteError.Invalid(field, rules[0]), permanent: true);
                continue;
            }

            creates.Add((write, new QueuedCreate(write.Id, u, UserValidation.NormalizeEmail(e), request.IsActive ?? true)));
        }

        if (creates.Count == 0)
            return batch.Count;

        IReadOnlyList<QueuedCreateOutcome> outcomes;
        try
        {
            outcomes = await users.ApplyCreatesAsync([.. creates.Select(c => c.Create)], cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // An outage is not the writes' fault: if the database does not answer at all, or answers but could not get to
            // them within the budget (a lock held elsewhere), the loop above puts them back without spending an attempt,
            // so an outage or a lock longer than the retry budget does not dead-letter what was accepted during it. Any
            // other failure while the database answers counts (a write that always fails still ends).
            if (DatabaseFailure.IsUnavailable(ex) && (DatabaseFailure.IsBusy(ex) || !await DatabaseAnswersAsync(cancellationToken)))
                throw;
            Log.ApplyFailed(logger, ex, creates.Count);
            foreach (var (write, _) in creates)
                await FailAsync(write, WriteError.ForBatch(ex), permanent: false);
            return batch.Count;
        }

        // The cache learns of the new rows before any status says done.
        if (outcomes.Any(o => o.User is not null))
            await cache.RemoveByTagAsync(UserCacheKeys.Lists, CancellationToken.None);
        // Each write's own steps stay in order; the batch's writes are settled side by side (pipelined on one connection).
        await Task.WhenAll(creates.Zip(outcomes).Select(c => SettleAsync(c.First.Write, c.Second, cancellationToken)));
        return batch.Count;
    }

    private async Task<bool> DatabaseAnswersAsync(CancellationToken cancellationToken)
    {
        try
        {
            await users.PingAsync(cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException || DatabaseFailure.IsUnavailable(ex))
        {
            return false;
        }
    }

    /// <summary>Dead-letters a clash or a refused value; otherwise writes the new user through to the cache, then says done.</summary>
    private async Task SettleAsync(QueuedWrite write, QueuedCreateOutcome outcome, CancellationToken cancellationToken)
    {
        if (outcome.DuplicateField is { } field)
        {
            await FailAsync(write, WriteError.Taken(field), permanent: true);
            return;
        }

        if (outcome.Refused)
        {
            await FailAsync(write, WriteError.Refused, permanent: true);
            return;
        }

        if (outcome.User is { } user)
            await cache.SetAsync(UserCacheKeys.User(user.Id), user, UserCacheKeys.UserEntry, CancellationToken.None);
        await queue.CompleteAsync(write, outcome.User?.Id.ToString(CultureInfo.InvariantCulture));
    }

    private Task<bool> FailAsync(QueuedWrite write, WriteError error, bool permanent) => queue.FailAsync(write, error.Code, error.Message, permanent);
}
