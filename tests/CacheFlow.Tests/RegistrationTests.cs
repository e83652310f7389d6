using System.Reflection;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CacheFlow.Tests;

/// <summary>
/// How an application registers CacheFlow: by a configuration string, from a configuration section or over its own
/// multiplexer; a cache without a Redis connection refused when the host starts; keyed caches with their own options
/// and prefixes, and keyed HybridCaches over them; a second registration under the same key refused.
/// </summary>
public sealed class RegistrationTests(GarnetBackend backend) : IClassFixture<GarnetBackend>
{
    [Fact]
    public async Task AConfigurationStringGivesTheCacheAConnectionOfItsOwnClosedWithTheContainer()
    {
        var services = new ServiceCollection();
        services.AddCacheFlow(backend.Redis.Configuration, options => options.KeyPrefix = Prefix());
        var provider = services.BuildServiceProvider();
        var cache = (CacheFlowCache)provider.GetRequiredService<ICacheFlow>();

        Assert.True(await cache.SetAsync("item:1", new Item(1, "one")));
        Assert.Equal("one", (await cache.GetOrCreateAsync<Item>("item:1", _ => throw new InvalidOperationException("a hit loads nothing"))).Value!.Name);
        Assert.NotSame(backend.Redis, cache.Redis);
        Assert.Null(provider.GetService<IConnectionMultiplexer>());

        await provider.DisposeAsync();

        Assert.False(cache.Redis.IsConnected);
    }

    [Fact]
    public async Task ACacheWithoutARedisConnectionFailsTheHostAtStartSayingWhatToDo()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddCacheFlow();
        using var host = builder.Build();

        var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains("CacheFlow has no Redis connection", refused.Message, StringComparison.Ordinal);
        Assert.Contains("register an IConnectionMultiplexer", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ControlWithAMultiplexerRegisteredTheHostStarts()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton(backend.Redis);
        builder.Services.AddCacheFlow(options => options.KeyPrefix = Prefix());
        using var host = builder.Build();

        await host.StartAsync(TestContext.Current.CancellationToken);

        Assert.NotNull(host.Services.GetRequiredService<ICacheFlow>());
        await host.StopAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task AKeyedCacheWithoutARedisConnectionFailsTheHostAtStartNamingItsKey()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddKeyedCacheFlow("orders");
        using var host = builder.Build();

        var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains("The CacheFlow cache 'orders' has no Redis connection", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnOptionOutOfItsRangeFailsTheHostAtStart()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton(backend.Redis);
        builder.Services.AddCacheFlow(options => (options.LeaseDuration, options.KeyPrefix) = (TimeSpan.FromMilliseconds(1), "a{b}:"));
        using var host = builder.Build();

        var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains("LeaseDuration must be between 00:00:00.0500000 and 00:10:00", refused.Message, StringComparison.Ordinal);
        Assert.Contains("The key prefix may not contain '{' or '}'.", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryOptionExceptTheSerializerOptionsIsBoundFromASection()
    {
        var settable = typeof(CacheFlowOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is { IsPublic: true } && p.Name != nameof(CacheFlowOptions.SerializerOptions)).ToList();
        var values = new Dictionary<string, string?>();
        foreach (var property in settable)
        {
            // Within every option's range, and none of them a default.
            if (property.PropertyType == typeof(IReadOnlyList<string>))
                (values[$"CacheFlow:{property.Name}:0"], values[$"CacheFlow:{property.Name}:1"]) = ("user", "users:list");
            else
                values[$"CacheFlow:{property.Name}"] = BoundValue(property);
        }

        var services = new ServiceCollection();
        services.AddCacheFlow(new ConfigurationBuilder().AddInMemoryCollection(values).Build().GetSection("CacheFlow"));
        using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<IOptions<CacheFlowOptions>>().Value;

        var defaults = new CacheFlowOptions();
        foreach (var property in settable)
        {
            var bound = property.GetValue(options);
            Assert.False(Equals(bound, property.GetValue(defaults)) && bound is not IReadOnlyList<string>, $"{property.Name} kept its default");
            if (bound is IReadOnlyList<string> list)
                Assert.Equal(["user", "users:list"], list);
            else
                Assert.Equal(BoundValue(property), Convert.ToString(bound, System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public void ASecondUnkeyedRegistrationIsRefusedInsteadOfMergedIntoTheFirst()
    {
        var services = new ServiceCollection();
        services.AddCacheFlow(options => options.KeyPrefix = "first:");

        var refused = Assert.Throws<InvalidOperationException>(() => services.AddCacheFlow(options => options.KeyPrefix = "second:"));

        Assert.Contains("AddKeyedCacheFlow", refused.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => services.AddCacheFlow("127.0.0.1:6379"));
    }

    [Fact]
    public void ASecondKeyedRegistrationUnderTheSameKeyIsRefusedAndOtherKeysAreNot()
    {
        var services = new ServiceCollection();
        services.AddCacheFlow();
        services.AddKeyedCacheFlow("orders");
        services.AddKeyedCacheFlow("users");

        Assert.Throws<InvalidOperationException>(() => services.AddKeyedCacheFlow("orders"));
    }

    [Fact]
    public async Task KeyedCachesKeepTheirOwnOptionsAndPrefixesOnOneRedis()
    {
        var prefix = Prefix();
        var services = new ServiceCollection();
        services.AddSingleton(backend.Redis);
        services.AddCacheFlow(options => options.KeyPrefix = prefix);
        services.AddKeyedCacheFlow("orders", options => options.DefaultDuration = TimeSpan.FromMinutes(7));
        services.AddKeyedCacheFlow("users", options => options.KeyPrefix = prefix + "users:");
        await using var provider = services.BuildServiceProvider();
        var (main, orders, users) = (provider.GetRequiredService<ICacheFlow>(), provider.GetRequiredKeyedService<ICacheFlow>("orders"), provider.GetRequiredKeyedService<ICacheFlow>("users"));

        await main.SetAsync("item:1", new Item(1, "main"));
        await orders.SetAsync("item:1", new Item(1, "orders"));
        await users.SetAsync("item:1", new Item(1, "users"));
        await orders.RemoveByPrefixAsync("item:");

        Assert.Equal("main", (await main.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "loaded")))).Value!.Name);
        Assert.Equal("loaded", (await orders.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "loaded")))).Value!.Name);
        Assert.Equal("users", (await users.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "loaded")))).Value!.Name);
        var monitor = provider.GetRequiredService<IOptionsMonitor<CacheFlowOptions>>();
        Assert.Equal(("cf:orders:", TimeSpan.FromMinutes(7)), (monitor.Get("orders").KeyPrefix, monitor.Get("orders").DefaultDuration));
        Assert.Equal(TimeSpan.FromMinutes(5), monitor.Get("users").DefaultDuration);
        var db = backend.Redis.GetDatabase();
        Assert.True(await db.KeyExistsAsync($"{prefix}{{item:1}}"));
        Assert.True(await db.KeyExistsAsync($"{prefix}users:{{item:1}}"));
        Assert.True(await db.KeyExistsAsync("cf:orders:{item:1}"));
    }

    [Fact]
    public async Task ControlTwoCachesGivenOnePrefixShareTheirEntries()
    {
        var prefix = Prefix();
        var services = new ServiceCollection();
        services.AddSingleton(backend.Redis);
        services.AddCacheFlow(options => options.KeyPrefix = prefix);
        services.AddKeyedCacheFlow("orders", options => options.KeyPrefix = prefix);
        await using var provider = services.BuildServiceProvider();

        await provider.GetRequiredService<ICacheFlow>().SetAsync("item:1", new Item(1, "main"));

        Assert.Equal("main", (await provider.GetRequiredKeyedService<ICacheFlow>("orders").GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "loaded")))).Value!.Name);
    }

    [Fact]
    public async Task AKeyedCacheUsesTheMultiplexerRegisteredWithItsKeyBeforeTheUnkeyedOne()
    {
        await using var own = await backend.ConnectAsync();
        var services = new ServiceCollection();
        services.AddSingleton(backend.Redis);
        services.AddKeyedSingleton<IConnectionMultiplexer>("orders", own);
        services.AddCacheFlow(options => options.KeyPrefix = Prefix());
        services.AddKeyedCacheFlow("orders", options => options.KeyPrefix = Prefix());
        await using var provider = services.BuildServiceProvider();

        Assert.Same(own, ((CacheFlowCache)provider.GetRequiredKeyedService<ICacheFlow>("orders")).Redis);
        Assert.Same(backend.Redis, ((CacheFlowCache)provider.GetRequiredService<ICacheFlow>()).Redis);
    }

    [Fact]
    public async Task AKeyedHybridCacheRunsOnItsKeyedCacheWithItsOwnOptions()
    {
        var services = new ServiceCollection();
        services.AddSingleton(backend.Redis);
        services.AddCacheFlow(options => options.KeyPrefix = Prefix()).AsHybridCache();
        services.AddKeyedCacheFlow("orders").AsHybridCache(options => options.MaximumKeyLength = 10);
        // No logging: the caches resolve without it, as Microsoft's do.
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        var (main, orders) = (provider.GetRequiredService<HybridCache>(), provider.GetRequiredKeyedService<HybridCache>("orders"));
        var key = $"o:{Guid.NewGuid():N}"[..10];

        var loaded = await orders.GetOrCreateAsync(key, _ => ValueTask.FromResult("orders"));
        var again = await orders.GetOrCreateAsync(key, _ => ValueTask.FromResult("loaded again"));
        var fromMain = await main.GetOrCreateAsync(key, _ => ValueTask.FromResult("main"));
        var tooLong = 0;
        await orders.GetOrCreateAsync(key + "x", _ => ValueTask.FromResult(++tooLong));
        await orders.GetOrCreateAsync(key + "x", _ => ValueTask.FromResult(++tooLong));

        Assert.IsType<CacheFlowHybridCache>(orders);
        Assert.NotSame(main, orders);
        Assert.Equal(("orders", "orders", "main"), (loaded, again, fromMain));
        Assert.True(await backend.Redis.GetDatabase().KeyExistsAsync($"cf:orders:{{{key}}}"));
        // Its own MaximumKeyLength: a longer key is never cached.
        Assert.Equal(2, tooLong);
    }

    private static string BoundValue(PropertyInfo property) => property.PropertyType switch
    {
        var t when t == typeof(TimeSpan) => "00:00:00.7500000",
        var t when t == typeof(int) || t == typeof(long?) => "70",
        var t when t == typeof(double) => "7",
        var t when t == typeof(bool) => (!(bool)property.GetValue(new CacheFlowOptions())!).ToString(),
        _ => property.Name == nameof(CacheFlowOptions.KeyPrefix) ? "bound:" : "127.0.0.1:1",
    };

    private static string Prefix() => $"t{Guid.NewGuid():N}:";
}
