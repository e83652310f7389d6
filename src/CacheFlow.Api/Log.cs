namespace CacheFlow.Api;

/// <summary>The API's log messages. Event ids: 2000-2099 hosting, 2100-2199 write-behind, warming and durable data (2140-2159), 2200-2299 the demo load.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Information,
        Message = "CacheFlow API on {Address}: Redis is {Redis} (connected: {Connected}); durable data is {Durable}; users are in {Database}. API docs at {Address}/docs, OpenAPI at {Address}/openapi/v1.json")]
    public static partial void Started(ILogger logger, string redis, bool connected, string durable, string database, string address);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning,
        Message = "No Admin:ApiKey is configured; this run's admin key is {ApiKey} (send it as X-Api-Key)")]
    public static partial void GeneratedAdminKey(ILogger logger, string apiKey);

    // Anyone can send the requests an outage fails, so the warning has the reason and not the stack trace (2005, at Debug).
    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "The database is unavailable ({Reason}); {Method} {Path} answered 503")]
    public static partial void DatabaseUnavailable(ILogger logger, string reason, string method, string path);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Debug, Message = "The database failure behind a 503")]
    public static partial void DatabaseUnavailableDetail(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Debug, Message = "{Method} {Path} answered {Status}: {Detail}")]
    public static partial void BadRequest(ILogger logger, string method, string path, int status, string detail);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Write-behind flush failed; the writes stay queued and are tried again")]
    public static partial void FlushFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "Applying {Count} queued writes failed; they are retried with backoff")]
    public static partial void ApplyFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "Redis is unavailable, or can lose the write; it was applied to the database directly")]
    public static partial void QueueUnavailable(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Warning, Message = "Redis is unavailable at start; the login leaderboard was not seeded")]
    public static partial void LeaderboardNotSeeded(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Warning,
        Message = "The database is unavailable; the write was queued without its clash check (a clash is found when it is applied)")]
    public static partial void ClashCheckSkipped(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2121, Level = LogLevel.Warning, Message = "The database is unavailable; the cache outbox is relayed again at the next tick")]
    public static partial void OutboxUnavailable(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2122, Level = LogLevel.Error,
        Message = "Background work {Worker} failed, and not because the database or Redis is unavailable; it is tried again, and /health/ready reports it until it succeeds")]
    public static partial void BackgroundFailed(ILogger logger, Exception exception, string worker);

    [LoggerMessage(EventId = 2123, Level = LogLevel.Information, Message = "Background work {Worker} succeeded again")]
    public static partial void BackgroundRecovered(ILogger logger, string worker);

    [LoggerMessage(EventId = 2141, Level = LogLevel.Error,
        Message = "Durable data is {Where}, which can now lose accepted writes: {Problems}. POST /users/async and logins go to the database until that is fixed")]
    public static partial void DurableDataUnsafe(ILogger logger, string where, string problems);

    [LoggerMessage(EventId = 2142, Level = LogLevel.Warning,
        Message = "Durable data is {Where}, which can lose accepted writes, and DurableData:AllowDataLoss=true accepts that: {Problems}")]
    public static partial void DurableDataLossAccepted(ILogger logger, string where, string problems);

    [LoggerMessage(EventId = 2143, Level = LogLevel.Warning,
        Message = "Durable data is {Where}, which did not answer at start: it is checked once it does")]
    public static partial void DurableDataUnchecked(ILogger logger, string where);

    [LoggerMessage(EventId = 2144, Level = LogLevel.Information, Message = "Durable data is {Where}, checked and safe ({Summary}): durable writes are queued there")]
    public static partial void DurableDataSafe(ILogger logger, string where, string summary);

    [LoggerMessage(EventId = 2145, Level = LogLevel.Warning, Message = "Checking the Redis that holds durable data failed; it is checked again at the next interval")]
    public static partial void DurableDataCheckFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2201, Level = LogLevel.Debug, Message = "A demo-load request failed")]
    public static partial void DemoRequestFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2111, Level = LogLevel.Information, Message = "Warmed the cache with {Count} users in {Milliseconds} ms")]
    public static partial void Warmed(ILogger logger, int count, long milliseconds);

    [LoggerMessage(EventId = 2112, Level = LogLevel.Warning, Message = "Warming the cache failed")]
    public static partial void WarmingFailed(ILogger logger, Exception exception);
}
