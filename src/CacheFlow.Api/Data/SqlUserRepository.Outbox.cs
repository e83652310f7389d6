using Dapper;

namespace CacheFlow.Api.Data;

public abstract partial class SqlUserRepository
{
    /// <inheritdoc />
    /// <remarks>
    /// One statement, the same on both databases: the subquery picks the oldest unclaimed rows (on PostgreSQL skipping
    /// rows another relay is claiming this instant), and the outer condition is checked again on each row as the
    /// UPDATE reaches it, so under PostgreSQL's READ COMMITTED a row another relay claimed since the subquery's snapshot
    /// stays that relay's.
    /// </remarks>
    public Task<IReadOnlyList<OutboxEntry>> ClaimOutboxAsync(string claim, long upTo, int limit, TimeSpan duration, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var until = now + (long)duration.TotalMilliseconds;
        return RunAsync(async (connection, ct) => (IReadOnlyList<OutboxEntry>)[.. await connection.QueryAsync<OutboxEntry>(new CommandDefinition($"""
            UPDATE cache_outbox SET claim = @claim, claimed_until = @until
            WHERE id IN (SELECT id FROM cache_outbox WHERE id <= @upTo AND (claimed_until IS NULL OR claimed_until < @now) ORDER BY id LIMIT @limit{SkipLocked})
              AND (claimed_until IS NULL OR claimed_until < @now)
            RETURNING id, user_id
            """, new { claim, until, upTo, now, limit }, cancellationToken: ct))], cancellationToken);
    }

    /// <inheritdoc />
    public Task<int> ForgetOutboxAsync(string claim, CancellationToken cancellationToken) =>
        RunAsync((connection, ct) => connection.ExecuteAsync(new CommandDefinition("DELETE FROM cache_outbox WHERE claim = @claim", new { claim }, cancellationToken: ct)), cancellationToken);

    /// <inheritdoc />
    public Task ReleaseOutboxAsync(string claim, CancellationToken cancellationToken) =>
        RunAsync((connection, ct) => connection.ExecuteAsync(new CommandDefinition(
            "UPDATE cache_outbox SET claim = NULL, claimed_until = NULL WHERE claim = @claim", new { claim }, cancellationToken: ct)), cancellationToken);

    /// <inheritdoc />
    public Task<long> OutboxHorizonAsync(CancellationToken cancellationToken) =>
        RunAsync(async (connection, ct) => await connection.ExecuteScalarAsync<long?>(new CommandDefinition("SELECT MAX(id) FROM cache_outbox", cancellationToken: ct)) ?? 0, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<long>> OutboxUsersAsync(CancellationToken cancellationToken) => RunAsync(async (connection, ct) =>
        (IReadOnlyList<long>)[.. await connection.QueryAsync<long>(new CommandDefinition("SELECT DISTINCT user_id FROM cache_outbox", cancellationToken: ct))], cancellationToken);
}
