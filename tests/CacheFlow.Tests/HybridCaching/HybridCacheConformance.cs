using System.Runtime.CompilerServices;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace CacheFlow.Tests.HybridCaching;

/// <summary>
/// The documented contract of <see cref="HybridCache"/>, checked through its public API only. A target registers its
/// implementation in <see cref="AddHybridCache"/>; Microsoft's DefaultHybridCache runs the suite as the control that
/// shows the tests encode the contract. Each test has a key prefix of its own: every instance it creates has its own
/// local cache (L1), and all of them share the Redis behind that prefix (L2), as the servers of one app do.
/// </summary>
/// <example>
/// A target is a few lines: register the implementation, and run the class on each backend.
/// <code>
/// public abstract class CacheFlowConformance(IRedisBackend backend) : HybridCacheConformance(backend)
/// {
///     protected override void AddHybridCache(IServiceCollection services, IConnectionMultiplexer redis, string keyPrefix)
///     {
///         services.AddSingleton(redis);
///         services.AddCacheFlow(o => { o.KeyPrefix = keyPrefix; o.LocalCacheEnabled = true; }).AsHybridCache();
///     }
/// }
///
/// public sealed class CacheFlowOnGarnet(GarnetBackend backend) : CacheFlowConformance(backend), IClassFixture&lt;GarnetBackend&gt;;
/// </code>
/// </example>
public abstract partial class HybridCacheConformance(IRedisBackend backend) : IAsyncDisposable
{
    protected static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    private readonly List<ServiceProvider> _providers = [];
    private readonly string _prefix = $"hc{Guid.NewGuid():N}:";

    /// <summary>
    /// Registers the implementation under test as the <see cref="HybridCache"/> service, with <paramref name="redis"/> as
    /// its L2 and every key it writes under <paramref name="keyPrefix"/>. The suite adds its own registrations (a
    /// serializer, say) after this call, as an app chains them after <c>AddHybridCache()</c>.
    /// </summary>
    protected abstract void AddHybridCache(IServiceCollection services, IConnectionMultiplexer redis, string keyPrefix);

    /// <summary>
    /// Whether a value loaded before a removal can never be written back after it (the stale-set race). When false the
    /// guarantee test runs as a control and asserts that the stale value is observed.
    /// </summary>
    protected virtual bool KeepsNoStaleSet => true;

    /// <summary>
    /// Whether a write or removal through one instance reaches the L1 of every other instance. When false the guarantee
    /// test runs as a control and asserts that another instance keeps serving its old value.
    /// </summary>
    protected virtual bool InvalidatesOtherInstancesL1 => true;

    /// <summary>Where the target is known to depart from the documented contract; none, for an implementation that honours it.</summary>
    protected virtual HybridCacheDeviations KnownDeviations => HybridCacheDeviations.None;

    /// <summary>A new instance: an L1 of its own, the test's shared L2.</summary>
    protected HybridCache NewInstance(Action<IServiceCollection>? configure = null) => NewInstance(backend.Redis, configure);

    /// <summary>A new instance over <paramref name="redis"/> as its L2.</summary>
    protected HybridCache NewInstance(IConnectionMultiplexer redis, Action<IServiceCollection>? configure = null)
    {
        var services = new ServiceCollection();
        AddHybridCache(services, redis, _prefix);
        configure?.Invoke(services);
        var provider = services.BuildServiceProvider();
        lock (_providers)
            _providers.Add(provider);
        return provider.GetRequiredService<HybridCache>();
    }

    /// <summary>A key named after the calling test, so a failure's logs say which test wrote it.</summary>
    protected static string Key([CallerMemberName] string name = "", string suffix = "") => $"{name}{suffix}";

    public async ValueTask DisposeAsync()
    {
        foreach (var provider in _providers)
            await provider.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    /// <summary>Awaits a call that must finish, failing instead of hanging if it does not.</summary>
    protected static Task<T> Bounded<T>(ValueTask<T> call) => call.AsTask().WaitAsync(Generous);

    /// <summary>Awaits a call that must finish, failing instead of hanging if it does not.</summary>
    protected static Task Bounded(ValueTask call) => call.AsTask().WaitAsync(Generous);

    /// <summary>Awaits a task that must finish, failing instead of hanging if it does not.</summary>
    protected static Task<T> Bounded<T>(Task<T> call) => call.WaitAsync(Generous);

    /// <summary>Awaits a task that must finish, failing instead of hanging if it does not.</summary>
    protected static Task Bounded(Task call) => call.WaitAsync(Generous);

    /// <summary>
    /// Reads <paramref name="key"/> until <paramref name="done"/> holds for what it returns or <paramref name="within"/>
    /// has passed; returns the last value read and whether the condition was met. The read never calls a factory.
    /// </summary>
    protected static async Task<(bool Met, T? Last)> ReadUntilAsync<T>(HybridCache cache, string key, Func<T?, bool> done, TimeSpan within)
    {
        using var deadline = new CancellationTokenSource(within);
        while (true)
        {
            var value = await Bounded(cache.GetOrCreateAsync<T?>(key, _ => default, CacheOnly));
            if (done(value))
                return (true, value);
            if (deadline.IsCancellationRequested)
                return (false, value);
            await Task.Delay(20, CancellationToken.None);
        }
    }

    /// <summary>
    /// Waits until <paramref name="key"/> can be read from the L2 by an instance that never held it. GetOrCreateAsync may
    /// write the L2 after it has returned (DefaultHybridCache does so in the background), so a test that needs another
    /// instance to see a loaded value waits for it here instead of racing the write.
    /// </summary>
    protected async Task InL2Async<T>(string key, Action<IServiceCollection>? configure = null)
    {
        var (met, _) = await ReadUntilAsync<T>(NewInstance(configure), key, v => v is not null, TimeSpan.FromSeconds(20));
        Assert.True(met, $"{key} never reached the L2");
    }

    /// <summary>Entry options that only read the cache: a miss returns default without calling the factory.</summary>
    protected static readonly HybridCacheEntryOptions CacheOnly = new() { Flags = HybridCacheEntryFlags.DisableUnderlyingData };
}
