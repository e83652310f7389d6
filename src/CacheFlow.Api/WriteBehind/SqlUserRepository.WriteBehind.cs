using System.Data.Common;
using System.Globalization;
using System.Text;
using CacheFlow.Api.Users;
using Dapper;

namespace CacheFlow.Api.Data;

// The repository's write-behind part (queued creates and login counts applied in batches), kept in the feature folder
// with the rest of write-behind; as a part of the repository, it shares its namespace and its connection handling.
public abstract partial class SqlUserRepository
{
    /// <inheritdoc />
    /// <remarks>
    /// One transaction and a handful of commands per batch, not per create: the requests applied before (a flusher
    /// died after the commit) are looked up at once; the rest go in one multi-row INSERT that skips a row clashing
    /// with a user or with an earlier row of the batch (<c>ON CONFLICT DO NOTHING</c>); the applied requests are
    /// recorded in one INSERT. Only a clash costs a query of its own, to name the field, and only a value the database
    /// refuses (a write queued by an older version, a rule of the database) costs a statement per row.
    /// </remarks>
    public Task<IReadOnlyList<QueuedCreateOutcome>> ApplyCreatesAsync(IReadOnlyList<QueuedCreate> creates, CancellationToken cancellationToken) =>
        RunAsync((connection, ct) => ApplyCreatesAsync(connection, creates, ct), cancellationToken);

    private async Task<IReadOnlyList<QueuedCreateOutcome>> ApplyCreatesAsync(DbConnection connection, IReadOnlyList<QueuedCreate> creates, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var outcomes = await AppliedAsync(connection, transaction, [.. creates.Select(c => c.RequestId)], cancellationToken);
        var fresh = creates.Where(c => !outcomes.ContainsKey(c.RequestId)).DistinctBy(c => c.RequestId).ToList();
        var refused = new HashSet<string>();
        var inserted = fresh.Count == 0 ? [] : await InsertAsync(connection, transaction, fresh, refused, cancellationToken);

        // A row is the first create of the batch with its username and email; a create without one clashed.
        var clashed = new List<QueuedCreate>();
        foreach (var create in fresh)
        {
            if (refused.Contains(create.RequestId))
            {
                outcomes[create.RequestId] = new QueuedCreateOutcome(create.RequestId, null, null, Refused: true);
                continue;
            }

            var index = inserted.FindIndex(u => u.Username == create.Username && u.Email == create.Email);
            if (index < 0)
            {
                clashed.Add(create);
                continue;
            }

            outcomes[create.RequestId] = new QueuedCreateOutcome(create.RequestId, AsUtc(inserted[index]), null);
            inserted.RemoveAt(index);
        }

        await RecordAppliedAsync(connection, transaction,
            [.. fresh.Where(c => outcomes.TryGetValue(c.RequestId, out var o) && o.User is not null).Select(c => (c.RequestId, (long?)outcomes[c.RequestId].User!.Id))], cancellationToken);
        if (clashed.Count > 0)
        {
            // Another flusher may have applied one of these meanwhile (its own row is the clash): its record says so.
            foreach (var (requestId, outcome) in await AppliedAsync(connection, transaction, [.. clashed.Select(c => c.RequestId)], cancellationToken))
                outcomes[requestId] = outcome;
            foreach (var create in clashed.Where(c => !outcomes.ContainsKey(c.RequestId)))
            {
                // No clash to see any more (the row it met was deleted since): the batch is tried again.
                var field = await ClashAsync(connection, transaction, create.Username, create.Email, cancellationToken)
                    ?? throw new InvalidOperationException($"Create {create.RequestId} was skipped for a clash that is gone; the batch is retried.");
                outcomes[create.RequestId] = new QueuedCreateOutcome(create.RequestId, null, field);
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return [.. creates.Select(c => outcomes[c.RequestId])];
    }

    /// <summary>
    /// Inserts the creates in one statement, skipping clashes; returns the rows inserted. If the database refuses a
    /// value in it, the statement is undone (to a savepoint) and the creates go one by one, each behind a savepoint of
    /// its own: a refused create fails alone (its request id is added to <paramref name="refused"/>), the others go in.
    /// </summary>
    private async Task<List<User>> InsertAsync(
        DbConnection connection, DbTransaction transaction, List<QueuedCreate> creates, HashSet<string> refused, CancellationToken cancellationToken)
    {
        const string Batch = "batch", Row = "row";
        var now = UtcNow();
        await transaction.SaveAsync(Batch, cancellationToken);
        try
        {
            var rows = await InsertRowsAsync(connection, transaction, creates, now, cancellationToken);
            await transaction.ReleaseAsync(Batch, cancellationToken);
            return rows;
        }
        catch (DbException ex) when (IsValueError(ex))
        {
            await transaction.RollbackAsync(Batch, cancellationToken);
        }

        var inserted = new List<User>(creates.Count);
        foreach (var create in creates)
        {
            await transaction.SaveAsync(Row, cancellationToken);
            try
            {
                inserted.AddRange(await InsertRowsAsync(connection, transaction, [create], now, cancellationToken));
                await transaction.ReleaseAsync(Row, cancellationToken);
            }
            catch (DbException ex) when (IsValueError(ex))
            {
                await transaction.RollbackAsync(Row, cancellationToken);
                refused.Add(create.RequestId);
            }
        }

        return inserted;
    }

    private static async Task<List<User>> InsertRowsAsync(
        DbConnection connection, DbTransaction transaction, IReadOnlyList<QueuedCreate> creates, DateTime now, CancellationToken cancellationToken) =>
        [.. await connection.QueryAsync<User>(Values(
            "INSERT INTO users (username, email, is_active, login_count, created_at)",
            [.. creates.Select(c => new object?[] { c.Username, c.Email, c.IsActive, 0L, now })],
            $"ON CONFLICT DO NOTHING RETURNING {Columns}", transaction, cancellationToken))];

    /// <inheritdoc />
    public Task<bool> ApplyLoginsAsync(string batchId, IReadOnlyDictionary<long, long> increments, CancellationToken cancellationToken) =>
        RunAsync((connection, ct) => ApplyLoginsAsync(connection, batchId, increments, ct), cancellationToken);

    private async Task<bool> ApplyLoginsAsync(DbConnection connection, string batchId, IReadOnlyDictionary<long, long> increments, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if ((await AppliedAsync(connection, transaction, [batchId], cancellationToken)).Count > 0)
            return false;
        // One UPDATE for the whole flush, joined to a VALUES list (its columns are column1, column2 in both databases).
        if (increments.Count > 0)
        {
            await connection.ExecuteAsync(Values("UPDATE users SET login_count = login_count + v.column2 FROM (",
                [.. increments.Select(i => new object?[] { i.Key, i.Value })], ") AS v WHERE users.id = v.column1", transaction, cancellationToken));
        }

        await RecordAppliedAsync(connection, transaction, [(batchId, null)], cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<User>> TopByLoginsAsync(int limit, CancellationToken cancellationToken) => RunAsync(async (connection, ct) =>
    {
        var users = await connection.QueryAsync<User>(new CommandDefinition(
            $"SELECT {Columns} FROM users ORDER BY login_count DESC, id LIMIT @limit", new { limit }, cancellationToken: ct));
        return (IReadOnlyList<User>)[.. users.Select(AsUtc)];
    }, cancellationToken);

    /// <summary>The outcomes of the requests among <paramref name="requestIds"/> applied before, with their users.</summary>
    private async Task<Dictionary<string, QueuedCreateOutcome>> AppliedAsync(
        DbConnection connection, DbTransaction transaction, IReadOnlyList<string> requestIds, CancellationToken cancellationToken)
    {
        if (requestIds.Count == 0)
            return [];
        var applied = (await connection.QueryAsync<AppliedRequest>(
            In("SELECT request_id, user_id FROM applied_requests WHERE request_id", requestIds, transaction, cancellationToken))).ToList();
        var ids = applied.Where(a => a.UserId is not null).Select(a => (object?)a.UserId).ToList();
        var users = ids.Count == 0 ? [] : (await connection.QueryAsync<User>(
            In($"SELECT {Columns} FROM users WHERE id", ids, transaction, cancellationToken))).ToDictionary(u => u.Id);
        return applied.ToDictionary(
            a => a.RequestId,
            a => new QueuedCreateOutcome(a.RequestId, a.UserId is { } id && users.TryGetValue(id, out var user) ? AsUtc(user) : null, null));
    }

    private Task RecordAppliedAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<(string RequestId, long? UserId)> requests, CancellationToken cancellationToken)
    {
        if (requests.Count == 0)
            return Task.CompletedTask;
        var now = UtcNow();
        return connection.ExecuteAsync(Values("INSERT INTO applied_requests (request_id, user_id, applied_at)",
            [.. requests.Select(r => new object?[] { r.RequestId, r.UserId, now })], "", transaction, cancellationToken));
    }

    /// <summary>
    /// <c>{query} IN (@p0, @p1, ...)</c>, spelled out: Dapper hands Npgsql a list as one array parameter, which
    /// <c>IN</c> does not take, and SQLite has no <c>= ANY</c>.
    /// </summary>
    private static CommandDefinition In<T>(string query, IReadOnlyList<T> values, DbTransaction transaction, CancellationToken cancellationToken)
    {
        var parameters = new DynamicParameters();
        for (var i = 0; i < values.Count; i++)
            parameters.Add(string.Create(CultureInfo.InvariantCulture, $"p{i}"), values[i]);
        var list = string.Join(", ", Enumerable.Range(0, values.Count).Select(i => string.Create(CultureInfo.InvariantCulture, $"@p{i}")));
        return new CommandDefinition($"{query} IN ({list})", parameters, transaction, cancellationToken: cancellationToken);
    }

    /// <summary>A statement around a list of rows: <c>{before} VALUES (@p0_0, ...), (@p1_0, ...) {after}</c>.</summary>
    private static CommandDefinition Values(string before, IReadOnlyList<object?[]> rows, string after, DbTransaction transaction, CancellationToken cancellationToken)
    {
        var parameters = new DynamicParameters();
        var sql = new StringBuilder(before).Append(" VALUES ");
        for (var row = 0; row < rows.Count; row++)
        {
            sql.Append(row == 0 ? "(" : ", (");
            for (var column = 0; column < rows[row].Length; column++)
            {
                var name = string.Create(CultureInfo.InvariantCulture, $"p{row}_{column}");
                sql.Append(column == 0 ? "@" : ", @").Append(name);
                parameters.Add(name, rows[row][column]);
            }

            sql.Append(')');
        }

        return new CommandDefinition(sql.Append(' ').Append(after).ToString(), parameters, transaction, cancellationToken: cancellationToken);
    }

    private sealed record AppliedRequest
    {
        public required string RequestId { get; init; }

        public long? UserId { get; init; }
    }
}
