using Microsoft.AspNetCore.OutputCaching;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CacheFlow.Api.Tests;

/// <summary>
/// ASP.NET Core's interface-level cases for an output-cache store (its in-memory store's tests, and the registration
/// tests of its Redis store), written as our own and run against every store: Microsoft's in-memory and Redis stores
/// are the control (each case passes there), CacheFlow's store must pass them too. Each case builds its own container
/// without logging, as Microsoft's tests do, and uses keys and tags of its own.
/// </summary>
public abstract class OutputCacheStoreCases
{
    private static readonly byte[] Value = "abc"u8.ToArray();

    /// <summary>Whether the store refuses a null key itself: the in-memory store's case, which Microsoft's Redis store does not meet.</summary>
    protected virtual bool ChecksKeys => true;

    /// <summary>Registers the store under test (and whatever it needs, such as a Redis connection); returns what its registration returned.</summary>
    protected abstract IServiceCollection AddStore(IServiceCollection services);

    [Fact]
    public async Task AStoredValueIsReturned()
    {
        using var store = Build();
        var key = Key();

        await store.Value.SetAsync(key, Value, null, TimeSpan.FromMinutes(1), default);

        Assert.Equal(Value, await store.Value.GetAsync(key, default));
    }

    [Fact]
    public async Task AValueIsGoneOnceItsValidityHasPassed()
    {
        using var store = Build();
        var key = Key();

        // Long enough to be read back first, on a loaded machine.
        await store.Value.SetAsync(key, Value, null, TimeSpan.FromSeconds(2), default);
        Assert.NotNull(await store.Value.GetAsync(key, default));

        await Eventually.TrueAsync(async () => await store.Value.GetAsync(key, default) is null, "the value expired");
    }

    [Fact]
    public async Task ANullKeyIsRefusedWithArgumentNullException()
    {
        using var store = Build();

        var failure = await Record.ExceptionAsync(() => store.Value.SetAsync(null!, Value, null, TimeSpan.FromMinutes(1), default).AsTask());

        // Microsoft's Redis store does not check its key: it sends the null key to Redis, which answers an error.
        if (ChecksKeys)
            Assert.Equal("key", Assert.IsType<ArgumentNullException>(failure).ParamName);
        else
            Assert.NotNull(failure);
    }

    [Fact]
    public async Task ANullValueIsRefusedWithArgumentNullException()
    {
        using var store = Build();

        await Assert.ThrowsAsync<ArgumentNullException>("value", () => store.Value.SetAsync(Key(), null!, null, TimeSpan.FromMinutes(1), default).AsTask());
    }

    [Fact]
    public async Task ANullTagIsRefusedWithArgumentException()
    {
        using var store = Build();

        await Assert.ThrowsAsync<ArgumentException>(async () => await store.Value.SetAsync(Key(), Value, [null!], TimeSpan.FromMinutes(1), default));
    }

    [Fact]
    public async Task EvictingATagRemovesTheOneEntryWithIt()
    {
        using var store = Build();
        var (key, tag) = (Key(), Key());

        await store.Value.SetAsync(key, Value, [tag], TimeSpan.FromDays(1), default);
        await store.Value.EvictByTagAsync(tag, default);

        Assert.Null(await store.Value.GetAsync(key, default));
    }

    [Fact]
    public async Task EvictingATagRemovesEveryEntryWithIt()
    {
        using var store = Build();
        var (first, second, tag) = (Key(), Key(), Key());

        await store.Value.SetAsync(first, Value, [tag], TimeSpan.FromDays(1), default);
        await store.Value.SetAsync(second, Value, [tag], TimeSpan.FromDays(1), default);
        await store.Value.EvictByTagAsync(tag, default);

        Assert.Null(await store.Value.GetAsync(first, default));
        Assert.Null(await store.Value.GetAsync(second, default));
    }

    [Fact]
    public async Task EvictingOneOfAnEntrysTagsRemovesIt()
    {
        using var store = Build();
        var (key, tag1, tag2) = (Key(), Key(), Key());

        await store.Value.SetAsync(key, Value, [tag1, tag2], TimeSpan.FromDays(1), default);
        await store.Value.EvictByTagAsync(tag1, default);

        Assert.Null(await store.Value.GetAsync(key, default));
    }

    [Fact]
    public async Task EvictingATagRemovesOnlyTheEntriesWithIt()
    {
        using var store = Build();
        var (first, second, tag1, tag2, tag3) = (Key(), Key(), Key(), Key(), Key());

        await store.Value.SetAsync(first, Value, [tag1, tag2], TimeSpan.FromDays(1), default);
        await store.Value.SetAsync(second, Value, [tag2, tag3], TimeSpan.FromDays(1), default);
        await store.Value.EvictByTagAsync(tag1, default);

        Assert.Null(await store.Value.GetAsync(first, default));
        Assert.NotNull(await store.Value.GetAsync(second, default));

        await store.Value.EvictByTagAsync(tag3, default);

        Assert.Null(await store.Value.GetAsync(first, default));
        Assert.Null(await store.Value.GetAsync(second, default));
    }

    [Fact]
    public async Task AMissingKeyReturnsNull()
    {
        using var store = Build();

        Assert.Null(await store.Value.GetAsync(Key(), default));
    }

    [Fact]
    public async Task EvictingTagsAgainAndAgainLeavesUntaggedAndOtherEntriesAlone()
    {
        using var store = Build();
        var payload = RandomBytes(1017);
        var (foo, bar) = (Key(), Key());
        var (untagged, onlyFoo, onlyBar, both) = (Key(), Key(), Key(), Key());
        await store.Value.SetAsync(untagged, payload, null, TimeSpan.FromSeconds(30), default);
        await store.Value.SetAsync(onlyFoo, payload, [foo], TimeSpan.FromSeconds(30), default);
        await store.Value.SetAsync(onlyBar, payload, [bar], TimeSpan.FromSeconds(30), default);
        await store.Value.SetAsync(both, payload, [foo, bar], TimeSpan.FromSeconds(30), default);
        foreach (var key in new[] { untagged, onlyFoo, onlyBar, both })
            Assert.NotNull(await store.Value.GetAsync(key, default));

        // Twice: evicting a tag that has no entries left changes nothing.
        for (var i = 0; i < 2; i++)
        {
            await store.Value.EvictByTagAsync(foo, default);
            Assert.NotNull(await store.Value.GetAsync(untagged, default));
            Assert.Null(await store.Value.GetAsync(onlyFoo, default));
            Assert.NotNull(await store.Value.GetAsync(onlyBar, default));
            Assert.Null(await store.Value.GetAsync(both, default));
        }

        for (var i = 0; i < 2; i++)
        {
            await store.Value.EvictByTagAsync(bar, default);
            Assert.NotNull(await store.Value.GetAsync(untagged, default));
            Assert.Null(await store.Value.GetAsync(onlyBar, default));
        }
    }

    [Fact]
    public void TheStoreIsRegisteredAsASingleton()
    {
        var services = new ServiceCollection();

        AddStore(services);

        Assert.Equal(ServiceLifetime.Singleton, services.Last(d => d.ServiceType == typeof(IOutputCacheStore)).Lifetime);
    }

    [Fact]
    public void TheRegistrationReturnsTheServiceCollectionForChaining()
    {
        var services = new ServiceCollection();

        Assert.Same(services, AddStore(services));
    }

    [Fact]
    public void TheStoreResolvesWithoutLoggingRegistered()
    {
        var services = new ServiceCollection();
        AddStore(services);
        using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        Assert.NotNull(provider.GetRequiredService<IOutputCacheStore>());
        Assert.Null(provider.GetService<ILoggerFactory>());
    }

    [Fact]
    public void TheStoreResolvesWithLoggingRegistered()
    {
        var services = new ServiceCollection();
        AddStore(services);
        services.AddLogging();
        using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        Assert.NotNull(provider.GetRequiredService<IOutputCacheStore>());
    }

    /// <summary>A key or tag no other case (nor another run on the same Redis) uses.</summary>
    protected static string Key() => Guid.NewGuid().ToString("N");

    protected static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    /// <summary>The store from a container of its own, without logging; disposed with the container.</summary>
    protected BuiltStore Build()
    {
        var services = new ServiceCollection();
        AddStore(services);
        var provider = services.BuildServiceProvider();
        return new BuiltStore(provider, provider.GetRequiredService<IOutputCacheStore>());
    }

    protected sealed class BuiltStore(ServiceProvider provider, IOutputCacheStore store) : IDisposable
    {
        public IOutputCacheStore Value { get; } = store;

        public void Dispose() => provider.Dispose();
    }
}
