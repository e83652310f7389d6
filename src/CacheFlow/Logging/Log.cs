using Microsoft.Extensions.Logging;

namespace CacheFlow.Logging;

/// <summary>The library's log messages. Event ids are public once shipped: 1000-1099 are cache operations.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Cache read failed for key family {Family}; the value is loaded from the source without caching")]
    public static partial void ReadFailed(ILogger logger, Exception exception, string family);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Cache write failed for key family {Family}; the value was served but not cached")]
    public static partial void WriteFailed(ILogger logger, Exception exception, string family);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Cache removal failed for key family {Family}")]
    public static partial void RemoveFailed(ILogger logger, Exception exception, string family);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "Cache removal by tag failed after removing {Removed} entries")]
    public static partial void RemoveByTagFailed(ILogger logger, Exception exception, long removed);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "Refresh failed for key family {Family}; the stale value is served (fail-safe)")]
    public static partial void RefreshFailed(ILogger logger, Exception exception, string family);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Warning, Message = "Waited past twice the lease duration for another loader of key family {Family}; loading without caching")]
    public static partial void LeaseWaitExpired(ILogger logger, string family);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "Cache removal by prefix failed for key family {Family} after removing {Removed} entries")]
    public static partial void RemoveByPrefixFailed(ILogger logger, Exception exception, string family, long removed);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Warning, Message = "A HybridCache key {Reason} is not cached; the call goes to its factory")]
    public static partial void HybridKeyRefused(ILogger logger, string reason);
}
