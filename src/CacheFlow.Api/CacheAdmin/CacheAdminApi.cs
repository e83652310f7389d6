using CacheFlow.Api.Observability;
using CacheFlow.Api.Warming;
using CacheFlow.Redis;
using CacheFlow.WriteBehind;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CacheFlow.Api.CacheAdmin;

/// <summary>Endpoints that change cache state: warming, invalidation, dead-letter requeue. Each needs the admin key.</summary>
public static class CacheAdminApi
{
    /// <summary>Maps the admin endpoints under <c>/cache</c>.</summary>
    public static IEndpointRouteBuilder MapCacheAdminApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/cache").WithTags("Cache admin").RequireAdminKey();
        admin.MapPost("/warm", Warm).WithSummary("Loads the most active users into the cache now.");
        admin.MapDelete("/keys/{key}", RemoveKey).WithSummary("Removes one entry (and revokes a load of it in progress).");
        admin.MapDelete("/tags/{tag}", RemoveTag).WithSummary("Removes every entry with a tag.");
        admin.MapDelete("/prefixes/{prefix}", RemovePrefix).WithSummary("Removes every entry whose key starts with the prefix (SCAN, matched literally).");
        admin.MapGet("/dead-letters", DeadLetters).WithSummary("The newest write-behind writes given up on, with their reasons.");
        admin.MapPost("/dead-letters/requeue", Requeue).WithSummary("Puts every dead-lettered write back on the queue.");
        admin.MapPost("/demo-load", (DemoLoad load) => { load.Start(); return TypedResults.NoContent(); }).WithSummary("Starts the demo load.").WithName("startDemoLoad");
        admin.MapDelete("/demo-load", (DemoLoad load) => { load.Stop(); return TypedResults.NoContent(); }).WithSummary("Stops the demo load.").WithName("stopDemoLoad");
        return app;
    }

    private static async Task<Ok<Counted>> Warm(CacheWarmer warmer, CancellationToken cancellationToken) =>
        TypedResults.Ok(new Counted(await warmer.WarmAsync(cancellationToken)));

    private static async Task<Results<NoContent, ProblemHttpResult>> RemoveKey(string key, ICacheFlow cache) =>
        await cache.RemoveAsync(key) ? TypedResults.NoContent() : Unavailable();

    private static async Task<Results<Ok<Counted>, ProblemHttpResult>> RemoveTag(string tag, ICacheFlow cache) =>
        await cache.RemoveByTagAsync(tag) is var removed and >= 0 ? TypedResults.Ok(new Counted(removed)) : Unavailable();

    private static async Task<Results<Ok<Counted>, ProblemHttpResult>> RemovePrefix(string prefix, ICacheFlow cache) =>
        await cache.RemoveByPrefixAsync(prefix) is var removed and >= 0 ? TypedResults.Ok(new Counted(removed)) : Unavailable();

    private static async Task<Results<Ok<IReadOnlyList<QueuedWrite>>, ValidationProblem, ProblemHttpResult>> DeadLetters(WriteBehindQueue queue, int limit = 50)
    {
        if (limit is < 1 or > 1000)
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limit"] = ["limit is between 1 and 1000."] });
        try
        {
            return TypedResults.Ok(await queue.DeadLettersAsync(limit));
        }
        catch (Exception ex) when (RedisGuard.IsFailure(ex))
        {
            return QueueUnavailable();
        }
    }

    private static async Task<Results<Ok<Counted>, ProblemHttpResult>> Requeue(WriteBehindQueue queue)
    {
        try
        {
            return TypedResults.Ok(new Counted(await queue.RequeueDeadLettersAsync()));
        }
        catch (Exception ex) when (RedisGuard.IsFailure(ex))
        {
            return QueueUnavailable();
        }
    }

    private static ProblemHttpResult Unavailable() =>
        TypedResults.Problem("Redis is unavailable: the removal is kept and carried out as soon as it answers; meanwhile this instance does not serve what it covers.",
            statusCode: StatusCodes.Status503ServiceUnavailable, title: "Cache unavailable");

    private static ProblemHttpResult QueueUnavailable() =>
        TypedResults.Problem("The write-behind queue lives in Redis, which is unavailable; try again shortly.",
            statusCode: StatusCodes.Status503ServiceUnavailable, title: "Queue unavailable");
}

/// <summary>How many things an admin operation touched.</summary>
/// <param name="Count">The count.</param>
public sealed record Counted(long Count);
