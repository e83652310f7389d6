using System.Diagnostics;

namespace CacheFlow.Api.Tests;

/// <summary>Waiting for a condition other parts of the system make true, bounded so that a broken mechanism fails the test instead of hanging it.</summary>
public static class Eventually
{
    /// <summary>Polls <paramref name="condition"/> every 50 ms until it holds; fails after <paramref name="bound"/> (30 s if not given).</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, string what, TimeSpan? bound = null)
    {
        var limit = bound ?? TimeSpan.FromSeconds(30);
        var started = Stopwatch.GetTimestamp();
        while (!await condition())
        {
            if (Stopwatch.GetElapsedTime(started) > limit)
                throw new Xunit.Sdk.XunitException($"Not within {limit.TotalSeconds} s: {what}");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>The same for a condition that needs no I/O.</summary>
    public static Task TrueAsync(Func<bool> condition, string what, TimeSpan? bound = null) => TrueAsync(() => Task.FromResult(condition()), what, bound);
}
