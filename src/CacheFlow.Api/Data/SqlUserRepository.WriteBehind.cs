using System.Data.Common;
using CacheFlow.Api.Users;
using Dapper;

namespace CacheFlow.Api.Data;

public abstract partial class SqlUserRepository
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<QueuedCreateOutcome>> ApplyCreatesAsync(IReadOnlyList<QueuedCreate> creates, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var outcomes = new List<QueuedCreateOutcome>(creates.Count);
        foreach (var create in creates)
        {
            if (await AppliedAsync(connection, transaction, create.RequestId, cancellationToken) is { } applied)
            {
                outcomes.Add(applied);
                continue;
            }

            // A savepoint per create: a clash rolls back that create alone (PostgreSQL would otherwise abort the whole transaction).
            await transaction.SaveAsync("queued_create", cancellationToken);
            try
            {
                var user = await connection.QuerySingleAsync<User>(new CommandDefinition(InsertUser,
                    new { username = create.Username, email = create.Email, isActive = create.IsActive, createdAt = UtcNow() }, transaction, cancellationToken: cancellationToken));
                await RecordAppliedAsync(connection, transaction, create.RequestId, user.Id, cancellationToken);
                await transaction.ReleaseAsync("queued_create", cancellationToken);
                outcomes.Add(new QueuedCreateOutcome(create.RequestId, AsUtc(user), null));
            }
            catch (DbException ex) when (DuplicateField(ex) is { } field)
            {
                await transaction.RollbackAsync("queued_create", cancellationToken);
                // Another flusher may have applied this very request meanwhile (its username clashed with itself).
                outcomes.Add(await AppliedAsync(connection, transaction, create.RequestId, cancellationToken)
                    ?? new QueuedCreateOutcome(create.RequestId, null, field));
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return outcomes;
    }

    /// <inheritdoc />
    public async Task<bool> ApplyLoginsAsync(string batchId, IReadOnlyDictionary<long, long> increments, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (await AppliedAsync(connection, transaction, batchId, cancellationToken) is not null)
            return false;
        foreach (var (id, count) in increments)
        {
            await connection.ExecuteAsync(new CommandDefinition("UPDATE users SET login_count = login_count + @count WHERE id = @id",
                new { id, count }, transaction, cancellationToken: cancellationToken));
        }

        await RecordAppliedAsync(connection, transaction, batchId, null, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<User>> TopByLoginsAsync(int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var users = await connection.QueryAsync<User>(new CommandDefinition(
            $"SELECT {Columns} FROM users ORDER BY login_count DESC, id LIMIT @limit", new { limit }, cancellationToken: cancellationToken));
        return [.. users.Select(AsUtc)];
    }

    private async Task<QueuedCreateOutcome?> AppliedAsync(DbConnection connection, DbTransaction transaction, string requestId, CancellationToken cancellationToken)
    {
        var applied = await connection.QuerySingleOrDefaultAsync<AppliedRequest>(new CommandDefinition(
            "SELECT request_id, user_id FROM applied_requests WHERE request_id = @requestId", new { requestId }, transaction, cancellationToken: cancellationToken));
        if (applied is null)
            return null;
        var user = applied.UserId is { } id
            ? await connection.QuerySingleOrDefaultAsync<User>(new CommandDefinition($"SELECT {Columns} FROM users WHERE id = @id", new { id }, transaction, cancellationToken: cancellationToken))
            : null;
        return new QueuedCreateOutcome(requestId, user is null ? null : AsUtc(user), null);
    }

    private Task RecordAppliedAsync(DbConnection connection, DbTransaction transaction, string requestId, long? userId, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition("INSERT INTO applied_requests (request_id, user_id, applied_at) VALUES (@requestId, @userId, @appliedAt)",
            new { requestId, userId, appliedAt = UtcNow() }, transaction, cancellationToken: cancellationToken));

    private sealed record AppliedRequest
    {
        public required string RequestId { get; init; }

        public long? UserId { get; init; }
    }
}
