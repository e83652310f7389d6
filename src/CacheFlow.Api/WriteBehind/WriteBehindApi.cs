using System.Globalization;
using System.Text.Json;
using CacheFlow.Api.Data;
using CacheFlow.Api.Http;
using CacheFlow.Api.Redis;
using CacheFlow.Api.Users;
using CacheFlow.Redis;
using CacheFlow.WriteBehind;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CacheFlow.Api.WriteBehind;

/// <summary>
/// The users' write-behind endpoints: creates queued durably in Redis and applied in the background (with their
/// statuses), and logins counted in Redis and written to the database behind, coalesced (with the leaderboard).
/// </summary>
public static class WriteBehindApi
{
    private const int TopLimit = 100;

    /// <summary>Maps <c>/users/async</c>, <c>/users/{id}/logins</c> and <c>/users/top</c>, beside the Users API.</summary>
    public static RouteGroupBuilder MapWriteBehindApi(this IEndpointRouteBuilder app)
    {
        var users = app.MapGroup("/users").WithTags("Users");
        users.MapPost("/async", CreateUserBehind)
            .WithSummary("Accepts a user to create (202): queued durably in Redis, applied to the database in the background (write-behind).")
            .RequireRateLimiting(RateLimits.Writes);
        users.MapGet("/async/{requestId}", GetWriteStatus).WithSummary("Where a queued create stands: pending, done (with the user's id) or failed (with the reason).");
        users.MapPost("/{id:userId}/logins", RecordLogin).WithSummary("Counts a login: at once in Redis (user and leaderboard), in the database behind, coalesced.")
            .AddEndpointFilter<CanonicalIdFilter>().RequireRateLimiting(RateLimits.Writes);
        users.MapGet("/top", TopUsers).WithSummary("The users with the most logins, from the leaderboard (their users read from the cache in one batch).")
            .RequireRateLimiting(RateLimits.Reads);
        return users;
    }

    private static async Task<Results<Accepted<AcceptedWrite>, Created<User>, ValidationProblem, ProblemHttpResult>> CreateUserBehind(
        CreateUserRequest request, WriteBehindQueue queue, DurableRedis durable, ICacheFlow cache, ListInvalidation lists, IUserRepository users,
        ILogger<WriteBehindQueue> logger, CancellationToken cancellationToken)
    {
        var errors = UserValidation.Validate(request.Username, request.Email, required: true);
        if (errors.Count > 0)
            return TypedResults.ValidationProblem(errors);
        var email = UserValidation.NormalizeEmail(request.Email!);
        // Clashes with users already in the database are refused now; clashes between queued writes are found at flush.
        try
        {
            if (await users.FindClashAsync(request.Username!, email, cancellationToken) is { } field)
                return UsersApi.Conflict(field);
        }
        catch (Exception ex) when (DatabaseFailure.IsUnavailable(ex))
        {
            // Riding out a database outage is what the queue is for: accept now, and the flush finds any clash.
            Log.ClashCheckSkipped(logger, ex);
        }

        var write = new CreateUserRequest(request.Username, email, request.IsActive ?? true);
        var requestId = WriteRequestIds.Create();
        try
        {
            // A Redis that can lose the write (or not checked yet) refuses it as an unavailable one would.
            durable.EnsureAccepting();
            var queued = await queue.EnqueueAsync(WriteBehindFlusher.CreateUser, JsonSerializer.SerializeToElement(write, ApiJsonContext.Default.CreateUserRequest), requestId);
            var statusUrl = $"/users/async/{queued.Id}";
            return TypedResults.Accepted(statusUrl, new AcceptedWrite(queued.Id, WriteStatus.Pending, statusUrl));
        }
        catch (Exception ex) when (RedisGuard.IsFailure(ex))
        {
            // No durable queue without a Redis that keeps it: the write goes to the database now instead (201, not 202), never lost.
            // A timed-out enqueue may still be carried out by a Redis that was only slow: the write is applied under
            // its request id, as the flusher applies it, so whichever comes second finds it applied (once, not twice).
            Log.QueueUnavailable(logger, ex);
            return await ApplyNowAsync(new QueuedCreate(requestId, write.Username!, email, write.IsActive ?? true), cache, lists, users, cancellationToken);
        }
    }

    /// <summary>
    /// Applies a create whose enqueue failed, under its own request id, as the flusher would. A failed enqueue may
    /// still reach Redis: a hung Redis runs it when it wakes (a timeout does not unsend it), and then the flusher
    /// applies it too. Keyed by the request id, whichever comes
    /// second finds the write applied and answers with the same user, instead of a clash (a dead letter, or a 409 here
    /// for a user that the queued copy created).
    /// </summary>
    private static async Task<Results<Accepted<AcceptedWrite>, Created<User>, ValidationProblem, ProblemHttpResult>> ApplyNowAsync(
        QueuedCreate create, ICacheFlow cache, ListInvalidation lists, IUserRepository users, CancellationToken cancellationToken)
    {
        var outcome = (await users.ApplyCreatesAsync([create], cancellationToken))[0];
        if (outcome.DuplicateField is { } field)
            return UsersApi.Conflict(field);
        if (outcome.Refused)
        {
            // Validated before: only a rule of the database itself gets here.
            return TypedResults.Problem(WriteError.Refused.Message, statusCode: StatusCodes.Status422UnprocessableEntity, title: "Value refused");
        }

        if (outcome.User is not { } user)
        {
            return TypedResults.Problem("This create was applied from the queue, and the user has been deleted since.",
                statusCode: StatusCodes.Status409Conflict, title: "Deleted since");
        }

        await UsersApi.WriteThroughAsync(cache, lists, user);
        return TypedResults.Created($"/users/{user.Id}", user);
    }

    private static async Task<Results<Ok<WriteStatusResponse>, ProblemHttpResult>> GetWriteStatus(string requestId, WriteBehindQueue queue)
    {
        WriteStatus? status;
        try
        {
            status = WriteRequestIds.IsWellFormed(requestId) ? await queue.GetStatusAsync(requestId) : null;
        }
        catch (Exception ex) when (RedisGuard.IsFailure(ex))
        {
            return TypedResults.Problem("Write statuses live in Redis, which is unavailable; try again shortly.",
                statusCode: StatusCodes.Status503ServiceUnavailable, title: "Status unavailable");
        }

        if (status is null)
            return TypedResults.Problem($"There is no queued write {ErrorText.Truncate(requestId)}.", statusCode: StatusCodes.Status404NotFound, title: "Unknown request id");
        long? userId = long.TryParse(status.Result, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;
        return TypedResults.Ok(new WriteStatusResponse(
            requestId, status.State, status.Payload.Deserialize(ApiJsonContext.Default.CreateUserRequest)!,
            userId, userId is null ? null : $"/users/{userId}", status.Error, status.ErrorCode, status.Attempts));
    }

    private static async Task<Results<Ok<LoginRecorded>, ProblemHttpResult>> RecordLogin(
        long id, ICacheFlow cache, UserReader reader, LoginCounter logins, IUserRepository users, CancellationToken cancellationToken)
    {
        if (id < 1)
            return UsersApi.InvalidId(id);
        var key = UserCacheKeys.User(id);
        var cached = await cache.GetOrCreateAsync(key, ct => reader.LoadAsync(id, ct), UserCacheKeys.UserEntry, cancellationToken);
        if (cached.Value is not { } user)
            return UsersApi.NotFound(id);

        long count;
        try
        {
            count = await logins.RecordAsync(id, user.LoginCount);
        }
        catch (Exception ex) when (RedisGuard.IsFailure(ex))
        {
            // Redis is down or hung: count this login in the database directly.
            await users.ApplyLoginsAsync($"login:{Guid.CreateVersion7():N}", new Dictionary<long, long> { [id] = 1 }, cancellationToken);
            count = user.LoginCount + 1;
        }

        await cache.UpdateIfCachedAsync<User>(key, u => u with { LoginCount = Math.Max(u.LoginCount, count) }, cancellationToken);
        return TypedResults.Ok(new LoginRecorded(id, count));
    }

    private static async Task<Results<Ok<List<User>>, ValidationProblem>> TopUsers(
        ICacheFlow cache, UserReader reader, LoginCounter logins, IUserRepository users, CancellationToken cancellationToken, int limit = 10)
    {
        if (limit is < 1 or > TopLimit)
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limit"] = [$"limit is between 1 and {TopLimit}."] });
        IReadOnlyList<(long Id, long Count)> top;
        try
        {
            top = await logins.TopAsync(limit);
        }
        catch (Exception ex) when (RedisGuard.IsFailure(ex))
        {
            top = [.. (await users.TopByLoginsAsync(limit, cancellationToken)).Select(u => (u.Id, u.LoginCount))];
        }

        // One cache call for the whole board: one MGET, and one query for the users it misses.
        var ids = top.ToDictionary(t => UserCacheKeys.User(t.Id), t => t.Id);
        var cached = await cache.GetOrCreateManyAsync(ids.Keys, async (keys, ct) =>
        {
            var loaded = await reader.LoadManyAsync([.. keys.Select(k => ids[k])], ct);
            return (IReadOnlyDictionary<string, User>)loaded.Values.ToDictionary(u => UserCacheKeys.User(u.Id));
        }, UserCacheKeys.UserEntry, cancellationToken);
        var result = new List<User>(top.Count);
        foreach (var (id, count) in top)
        {
            if (cached[UserCacheKeys.User(id)].Value is { } found)
                result.Add(found with { LoginCount = Math.Max(found.LoginCount, count) });
        }

        return TypedResults.Ok(result);
    }
}

/// <summary>The answer to <c>POST /users/async</c>.</summary>
/// <param name="RequestId">The write's id.</param>
/// <param name="Status">Always <c>pending</c> here.</param>
/// <param name="StatusUrl">Where to ask how it stands.</param>
public sealed record AcceptedWrite(string RequestId, string Status, string StatusUrl);

/// <summary>How a queued create stands.</summary>
/// <param name="RequestId">The write's id.</param>
/// <param name="Status"><c>pending</c>, <c>done</c> or <c>failed</c>.</param>
/// <param name="User">The user as accepted.</param>
/// <param name="UserId">The created user's id, once done.</param>
/// <param name="Location">The created user's URL, once done.</param>
/// <param name="Error">Why it failed, once failed (or why the last attempt failed), in words.</param>
/// <param name="ErrorCode">The same as a stable code (e.g. <c>username_taken</c>, <c>invalid_value</c>, <c>database_unavailable</c>).</param>
/// <param name="Attempts">How many attempts failed.</param>
public sealed record WriteStatusResponse(string RequestId, string Status, CreateUserRequest User, long? UserId, string? Location, string? Error, string? ErrorCode, int Attempts);

/// <summary>The answer to <c>POST /users/{id}/logins</c>.</summary>
/// <param name="Id">The user's id.</param>
/// <param name="LoginCount">The user's login count, this login included.</param>
public sealed record LoginRecorded(long Id, long LoginCount);
