using CacheFlow;

namespace CacheFlow.Api.Users;

/// <summary>The cache keys, tags and lifetimes of users.</summary>
internal static class UserCacheKeys
{
    /// <summary>The key family of list pages, and the tag every page carries: a change to any user drops all pages.</summary>
    public const string Lists = "users:list";

    /// <summary>The count of users, cached apart from the pages (and dropped with them: it carries their tag).</summary>
    public const string Count = "users:count";

    /// <summary>
    /// A user: fresh for 300 s, then served stale for up to 10 minutes while it is refreshed or while the database
    /// is down; "not found" is cached for 30 s (creating the user overwrites it).
    /// </summary>
    public static readonly CacheEntryOptions UserEntry = new()
    {
        Duration = TimeSpan.FromSeconds(300),
        StaleDuration = TimeSpan.FromMinutes(10),
        NullDuration = TimeSpan.FromSeconds(30),
    };

    /// <summary>A list page: fresh for 60 s, stale for up to 5 minutes more, tagged for removal on any change.</summary>
    public static readonly CacheEntryOptions ListEntry = new()
    {
        Duration = TimeSpan.FromSeconds(60),
        StaleDuration = TimeSpan.FromMinutes(5),
        Tags = [Lists],
    };

    /// <summary>
    /// The count of users: like a list page (its tag, its lifetimes), so a page and the count it is checked against
    /// are as fresh as each other. A page miss reads the count from here, not with COUNT(*).
    /// </summary>
    public static readonly CacheEntryOptions CountEntry = ListEntry;

    public static string User(long id) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"user:{id}");
}
