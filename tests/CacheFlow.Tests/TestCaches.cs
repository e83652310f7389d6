using System.ComponentModel;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CacheFlow.Tests;

/// <summary>A value to cache in tests.</summary>
public sealed record Item(int Id, string Name);

/// <summary>A value declared immutable (sealed and marked), which typed reads may share from the L1.</summary>
[ImmutableObject(true)]
public sealed record FrozenItem(int Id, string Name);

/// <summary>A value callers can change, which typed reads must copy.</summary>
public sealed class MutableItem
{
    public string Name { get; set; } = "";
}

/// <summary>Builds caches with a key prefix of their own, so tests sharing a server never see each other's keys.</summary>
public static class TestCaches
{
    public static CacheFlowCache Create(IConnectionMultiplexer redis, TimeProvider? time = null, Action<CacheFlowOptions>? configure = null)
    {
        // A generous timeout: two test assemblies and the servers share two cores, and a read slower than the
        // default second would bypass the cache and fail a test that is not about timeouts (those set their own).
        var options = new CacheFlowOptions { KeyPrefix = $"t{Guid.NewGuid():N}:", RedisTimeout = TimeSpan.FromSeconds(10) };
        configure?.Invoke(options);
        return new CacheFlowCache(redis, Options.Create(options), time ?? TimeProvider.System, NullLogger<CacheFlowCache>.Instance);
    }
}

/// <summary>Waiting for a condition that other tasks make true, bounded so a broken mechanism fails instead of hanging.</summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, string what)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!condition())
        {
            if (deadline.IsCancellationRequested)
                Assert.Fail($"Timed out waiting until {what}");
            await Task.Delay(1, CancellationToken.None);
        }
    }

    /// <summary>Awaits a task that must finish, failing the test instead of hanging if it does not.</summary>
    public static Task<T> Within<T>(this ValueTask<T> task, int seconds = 20) => task.AsTask().WaitAsync(TimeSpan.FromSeconds(seconds));
}

/// <summary>A factory that counts its calls.</summary>
public sealed class CountingLoader<T>(Func<int, T> produce)
{
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public ValueTask<T> LoadAsync(CancellationToken cancellationToken) => new(produce(Interlocked.Increment(ref _calls)));
}

/// <summary>A factory held at a gate: <see cref="Reached"/> once it is called, its value returned once <see cref="Release"/> is.</summary>
public sealed class HeldLoader<T>(T value)
{
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the factory is called; fails the test after 20 s instead of hanging.</summary>
    public Task Reached => _reached.Task.WaitAsync(TimeSpan.FromSeconds(20));

    public void Release() => _release.TrySetResult();

    public async ValueTask<T> LoadAsync(CancellationToken cancellationToken)
    {
        _reached.TrySetResult();
        await _release.Task;
        return value;
    }
}
