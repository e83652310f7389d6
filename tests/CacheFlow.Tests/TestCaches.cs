using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CacheFlow.Tests;

/// <summary>A value to cache in tests.</summary>
public sealed record Item(int Id, string Name);

/// <summary>Builds caches with a key prefix of their own, so tests sharing a server never see each other's keys.</summary>
public static class TestCaches
{
    public static CacheFlowCache Create(IConnectionMultiplexer redis, TimeProvider? time = null, Action<CacheFlowOptions>? configure = null)
    {
        var options = new CacheFlowOptions { KeyPrefix = $"t{Guid.NewGuid():N}:" };
        configure?.Invoke(options);
        return new CacheFlowCache(redis, Options.Create(options), time ?? TimeProvider.System, NullLogger<CacheFlowCache>.Instance);
    }
}

/// <summary>A factory that counts its calls.</summary>
public sealed class CountingLoader<T>(Func<int, T> produce)
{
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public ValueTask<T> LoadAsync(CancellationToken cancellationToken) => new(produce(Interlocked.Increment(ref _calls)));
}
