using Microsoft.Extensions.Logging;

namespace CacheFlow.AspNetCore;

/// <summary>The ASP.NET Core glue's log messages. Event ids are public once shipped: 1100-1199 are response caching.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning,
        Message = "Response for key family {Family} not cached: the user is authenticated but has neither a NameIdentifier nor a name claim")]
    public static partial void UnidentifiedUser(ILogger logger, string family);
}
