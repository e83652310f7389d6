namespace CacheFlow.Api;

/// <summary>The API's log messages. Event ids: 2000-2099 hosting, 2100-2199 users.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Information,
        Message = "CacheFlow API on {Address}: Redis is {Redis} (connected: {Connected}); users are in {Database}. API docs at {Address}/docs, OpenAPI at {Address}/openapi/v1.json")]
    public static partial void Started(ILogger logger, string redis, bool connected, string database, string address);
}
