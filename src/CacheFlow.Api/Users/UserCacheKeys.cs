using CacheFlow;

namespace CacheFlow.Api.Users;

/// <summary>The cache keys, tags and lifetimes of users.</summary>
internal static class UserCacheKeys
{
    /// <summary>The key family of list pages, and the tag every page carries: a change to any user drops all pages.</summary>
    public const string Lists = "users:list";

    public static readonly CacheEntryOptions UserEntry = new() { Duration = TimeSpan.FromSeconds(300) };

    public static readonly TimeSpan ListDuration = TimeSpan.FromSeconds(60);

    public static string User(long id) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"user:{id}");
}
