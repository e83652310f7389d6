using CacheFlow.Api.Data;
using CacheFlow.Api.Http;
using CacheFlow.Api.WriteBehind;
using CacheFlow.AspNetCore;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CacheFlow.Api.Users;

/// <summary>
/// The Users API. Reads are cache-aside (<c>user:{id}</c> in code, list pages through <c>CacheResponse</c>);
/// creates are write-through; updates and deletes change the database first, then invalidate. Queued creates and
/// logins are <see cref="WriteBehindApi"/>'s.
/// </summary>
public static class UsersApi
{
    /// <summary>Maps <c>/users</c>. Every <c>{id}</c> is a canonical positive integer: +1, 01 and " 1" are refused, not read as 1.</summary>
    public static RouteGroupBuilder MapUsersApi(this IEndpointRouteBuilder app)
    {
        var users = app.MapGroup("/users").WithTags("Users");
        users.MapGet("/{id:userId}", GetUser).WithSummary("One user (cache-aside, fresh 300 s; X-Cache says HIT, MISS, STALE or BYPASS).")
            .AddEndpointFilter<CanonicalIdFilter>().RequireRateLimiting(RateLimits.Reads);
        users.MapGet("/", ListUsers).WithSummary("A page of users ordered by id (cached, fresh 60 s); a page past the last is 404, not cached.")
            .CacheResponse(UserCacheKeys.Lists, UserCacheKeys.ListEntry).RequireRateLimiting(RateLimits.Reads);
        users.MapPost("/", CreateUser).WithSummary("Creates a user: database first, then the cache (write-through).")
            .RequireRateLimiting(RateLimits.Writes);
        users.MapPatch("/{id:userId}", UpdateUser).WithSummary("Changes a user's fields, then invalidates the user and every list page.")
            .AddEndpointFilter<CanonicalIdFilter>().RequireRateLimiting(RateLimits.Writes);
        users.MapDelete("/{id:userId}", DeleteUser).WithSummary("Deletes a user, then invalidates the user and every list page.")
            .AddEndpointFilter<CanonicalIdFilter>().RequireRateLimiting(RateLimits.Writes);
        return users;
    }

    private static async Task<Results<CachedJsonResult<User>, ProblemHttpResult>> GetUser(
        long id, ICacheFlow cache, UserReader users, HttpResponse response, CancellationToken cancellationToken)
    {
        if (id < 1)
            return InvalidId(id);
        var result = await cache.GetOrCreateJsonAsync(UserCacheKeys.User(id), ct => users.LoadAsync(id, ct), UserCacheKeys.UserEntry, cancellationToken);
        if (!result.IsNull)
            return new CachedJsonResult<User>(result);
        // "Not found" is cached too; the header says whether this 404 came from the cache.
        response.Headers[CacheHeaders.XCache] = CacheHeaders.Value(result.Outcome);
        return NotFound(id);
    }

    /// <summary>
    /// A page, checked against the count of users first: a page past the last is a 404, which the response cache does
    /// not keep (a flood of junk pages adds no key and no tag member). The count is a cache entry of its own, so a
    /// page miss costs one range read, not a COUNT(*) as well.
    /// </summary>
    private static async Task<Results<Ok<UsersPage>, ValidationProblem, ProblemHttpResult>> ListUsers(
        IUserRepository users, ICacheFlow cache, CancellationToken cancellationToken, int page = 1, int limit = 20)
    {
        var errors = new Dictionary<string, string[]>();
        if (page < 1)
            errors["page"] = ["page starts at 1."];
        if (limit is < 1 or > 100)
            errors["limit"] = ["limit is between 1 and 100."];
        if (errors.Count > 0)
            return TypedResults.ValidationProblem(errors);
        var total = (await cache.GetOrCreateAsync(UserCacheKeys.Count, async ct => await users.CountAsync(ct), UserCacheKeys.CountEntry, cancellationToken)).Value;
        var pages = Math.Max(1, (total + limit - 1) / limit);
        if (page > pages)
        {
            return TypedResults.Problem($"There are {pages} pages of {limit} users; page {page} is past the last.",
                statusCode: StatusCodes.Status404NotFound, title: "Page not found", extensions: new Dictionary<string, object?> { ["pages"] = pages });
        }

        return TypedResults.Ok(new UsersPage(await users.PageAsync(page, limit, cancellationToken), page, limit, total));
    }

    private static async Task<Results<Created<User>, ValidationProblem, ProblemHttpResult>> CreateUser(
        CreateUserRequest request, ICacheFlow cache, ListInvalidation lists, IUserRepository users, CancellationToken cancellationToken)
    {
        var errors = UserValidation.Validate(request.Username, request.Email, required: true);
        if (errors.Count > 0)
            return TypedResults.ValidationProblem(errors);
        var (created, clash) = await CreateWriteThroughAsync(request, cache, lists, users, cancellationToken);
        return created is not null ? created : clash!;
    }

    /// <summary>
    /// Write-through: the database commits, then the cache gets the row as committed (a cache failure is logged, not
    /// returned). Gives the 201 or, if another user has the username or email, the 409.
    /// </summary>
    private static async Task<(Created<User>? Created, ProblemHttpResult? Clash)> CreateWriteThroughAsync(
        CreateUserRequest request, ICacheFlow cache, ListInvalidation lists, IUserRepository users, CancellationToken cancellationToken)
    {
        User user;
        try
        {
            user = await users.CreateAsync(request.Username!, UserValidation.NormalizeEmail(request.Email!), request.IsActive ?? true, cancellationToken);
        }
        catch (DuplicateUserException ex)
        {
            return (null, Conflict(ex.Field));
        }

        await WriteThroughAsync(cache, lists, user);
        return (TypedResults.Created($"/users/{user.Id}", user), null);
    }

    /// <summary>
    /// After a create's commit: the new row to the cache, every list page out. Not cancelled by the caller (the change
    /// is committed; a disconnect must not leave the cache behind it); a step Redis does not take is kept by the
    /// cache and retried, and this instance bypasses what it covers meanwhile.
    /// </summary>
    internal static async Task WriteThroughAsync(ICacheFlow cache, ListInvalidation lists, User user)
    {
        var entry = cache.SetAsync(UserCacheKeys.User(user.Id), user, UserCacheKeys.UserEntry, CancellationToken.None).AsTask();
        await Task.WhenAll(entry, lists.RemoveAsync());
    }

    private static async Task<Results<Ok<User>, ValidationProblem, ProblemHttpResult>> UpdateUser(
        long id, UpdateUserRequest request, ICacheFlow cache, ListInvalidation lists, IUserRepository users, CancellationToken cancellationToken)
    {
        if (id < 1)
            return InvalidId(id);
        var errors = UserValidation.Validate(request.Username, request.Email, required: false);
        if (request is { Username: null, Email: null, IsActive: null })
            errors[""] = ["Give at least one of username, email, is_active."];
        if (errors.Count > 0)
            return TypedResults.ValidationProblem(errors);
        User? user;
        try
        {
            user = await users.UpdateAsync(id, request.Username, request.Email is null ? null : UserValidation.NormalizeEmail(request.Email), request.IsActive, cancellationToken);
        }
        catch (DuplicateUserException ex)
        {
            return Conflict(ex.Field);
        }

        if (user is null)
            return NotFound(id);
        await InvalidateAsync(cache, lists, id);
        return TypedResults.Ok(user);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteUser(
        long id, ICacheFlow cache, ListInvalidation lists, IUserRepository users, LoginCounter logins, CancellationToken cancellationToken)
    {
        if (id < 1)
            return InvalidId(id);
        if (!await users.DeleteAsync(id, cancellationToken))
            return NotFound(id);
        await InvalidateAsync(cache, lists, id);
        await logins.ForgetAsync(id);
        return TypedResults.NoContent();
    }

    /// <summary>
    /// After an update's or delete's commit: the user and every list page out. Not cancelled by the caller; what Redis
    /// does not take now is kept by the cache and retried, and this instance bypasses it meanwhile.
    /// </summary>
    private static async Task InvalidateAsync(ICacheFlow cache, ListInvalidation lists, long id)
    {
        // Side by side: while Redis hangs, each waits out its timeout, and the write waits for one timeout, not two.
        var user = cache.RemoveAsync(UserCacheKeys.User(id), CancellationToken.None).AsTask();
        await Task.WhenAll(user, lists.RemoveAsync());
    }

    internal static ProblemHttpResult InvalidId(long id) =>
        TypedResults.Problem($"A user id is a positive integer; {id} is not.", statusCode: StatusCodes.Status400BadRequest, title: "Invalid user id");

    internal static ProblemHttpResult NotFound(long id) =>
        TypedResults.Problem($"There is no user {id}.", statusCode: StatusCodes.Status404NotFound, title: "User not found");

    internal static ProblemHttpResult Conflict(string field) =>
        TypedResults.Problem($"Another user already has this {field}.", statusCode: StatusCodes.Status409Conflict, title: $"Duplicate {field}",
            extensions: new Dictionary<string, object?> { ["field"] = field });
}
