namespace CacheFlow.Testing;

/// <summary>
/// What a test does when a real server it needs is missing: skip with the reason on a developer's machine, fail in
/// CI (<c>CACHEFLOW_REQUIRE_SERVERS=1</c>), so a real-server suite can never pass by silently not running.
/// </summary>
public static class ServerRequirement
{
    public static bool Required => Environment.GetEnvironmentVariable("CACHEFLOW_REQUIRE_SERVERS") == "1";

    public static void Unavailable(string reason)
    {
        if (Required)
            throw new InvalidOperationException($"{reason} (CACHEFLOW_REQUIRE_SERVERS=1, so this fails instead of skipping)");
        Assert.Skip(reason);
    }
}
