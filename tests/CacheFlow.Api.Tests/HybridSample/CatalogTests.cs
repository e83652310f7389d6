using System.Net.Http.Json;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using CacheFlow.Tests;

namespace CacheFlow.Api.Tests.HybridSample;

/// <summary>
/// The catalog's integration tests, written once and run unchanged on the HybridCache it was built with
/// (<c>AddHybridCache()</c> over Microsoft's Redis <c>IDistributedCache</c>) and after the switch to CacheFlow
/// (<c>AddCacheFlow(…).AsHybridCache()</c>): the registration is the only difference between the two classes below.
/// </summary>
public abstract class CatalogTests(IRedisBackend backend) : IAsyncDisposable
{
    private readonly List<CatalogApp> _apps = [];

    protected string Prefix { get; } = $"cat{Guid.NewGuid():N}:";

    protected IRedisBackend Backend => backend;

    /// <summary>The one line an application changes: which HybridCache it registers (over <see cref="Backend"/>, under <see cref="Prefix"/>).</summary>
    protected abstract void RegisterHybridCache(IServiceCollection services);

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps)
            await app.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    private async Task<CatalogApp> StartAsync(ProductStore? store = null)
    {
        var app = await CatalogApp.StartAsync(RegisterHybridCache, store);
        _apps.Add(app);
        return app;
    }

    private static async Task<Product> ProductAsync(CatalogApp app, int id) => (await app.Client.GetFromJsonAsync<Product>($"/products/{id}"))!;

    [Fact]
    public async Task AProductIsReadFromTheStoreOnceThenFromTheCache()
    {
        await using var app = await StartAsync();

        var first = await ProductAsync(app, 1);
        var second = await ProductAsync(app, 1);

        Assert.Equal(first, second);
        Assert.Equal(1, app.Store.Reads);
    }

    [Fact]
    public async Task ARenamedProductIsReadAgainAndItsCategoryListToo()
    {
        await using var app = await StartAsync();
        await ProductAsync(app, 2);
        await app.Client.GetFromJsonAsync<Product[]>("/categories/even");
        // Microsoft's writes the shared cache after it answered: a rename before that write lands would be undone by it
        // (the stale set it leaves open, shown in the conformance suite's history case). Here the cache has settled.
        await InSharedCacheAsync<Product>("product:2");
        await InSharedCacheAsync<Product[]>("category:even");

        (await app.Client.PutAsync("/products/2/name?name=renamed", null)).EnsureSuccessStatusCode();

        Assert.Equal("renamed", (await ProductAsync(app, 2)).Name);
        Assert.Contains((await app.Client.GetFromJsonAsync<Product[]>("/categories/even"))!, p => p.Name == "renamed");
        Assert.Equal("product 3", (await ProductAsync(app, 3)).Name);
    }

    [Fact]
    public async Task AFlushOfEverythingMakesEveryReadGoToTheStoreAgain()
    {
        await using var app = await StartAsync();
        await ProductAsync(app, 1);
        await app.Client.GetFromJsonAsync<Product[]>("/categories/odd");
        var before = app.Store.Reads;

        (await app.Client.PostAsync("/cache/flush", null)).EnsureSuccessStatusCode();
        await ProductAsync(app, 1);
        await app.Client.GetFromJsonAsync<Product[]>("/categories/odd");

        Assert.Equal(before + 2, app.Store.Reads);
    }

    [Fact]
    public async Task TheFreshReadSkipsTheCachesEveryTime()
    {
        await using var app = await StartAsync();

        for (var i = 0; i < 3; i++)
            await app.Client.GetFromJsonAsync<Product>("/products/4/fresh");

        Assert.Equal(3, app.Store.Reads);
    }

    [Fact]
    public async Task AnotherServerReadsWhatTheFirstCachedWithoutGoingToTheStore()
    {
        var store = new ProductStore();
        await using var first = await StartAsync(store);
        await using var second = await StartAsync(store);
        await ProductAsync(first, 5);
        // The first server may write the shared cache after it answered (Microsoft's does so in the background).
        await InSharedCacheAsync<Product>("product:5");

        var read = await ProductAsync(second, 5);

        Assert.Equal(("product 5", 1), (read.Name, store.Reads));
    }

    /// <summary>Waits until a HybridCache of a third server, registered the same way, finds the key without calling its factory.</summary>
    private async Task InSharedCacheAsync<T>(string key)
        where T : class
    {
        var services = new ServiceCollection();
        services.AddLogging();
        RegisterHybridCache(services);
        await using var provider = services.BuildServiceProvider();
        var probe = provider.GetRequiredService<HybridCache>();
        var cacheOnly = new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableUnderlyingData };
        for (var attempt = 0; attempt < 500; attempt++)
        {
            if (await probe.GetOrCreateAsync<T?>(key, _ => default, cacheOnly) is not null)
                return;
            await Task.Delay(20);
        }

        Assert.Fail($"{key} never reached the shared cache");
    }
}

/// <summary>As the catalog was built: Microsoft's HybridCache over its Redis distributed cache.</summary>
public sealed class CatalogOnMicrosoftsHybridCache(RealRedisBackend backend) : CatalogTests(backend), IClassFixture<RealRedisBackend>
{
    protected override void RegisterHybridCache(IServiceCollection services)
    {
        services.AddStackExchangeRedisCache(o => { o.Configuration = Backend.Redis.Configuration; o.InstanceName = Prefix; });
        services.AddHybridCache();
    }
}

/// <summary>After the switch: CacheFlow's HybridCache, the L1 on as HybridCache's is.</summary>
public sealed class CatalogOnCacheFlow(RealRedisBackend backend) : CatalogTests(backend), IClassFixture<RealRedisBackend>
{
    protected override void RegisterHybridCache(IServiceCollection services) =>
        services.AddCacheFlow(Backend.Redis.Configuration, o => { o.KeyPrefix = Prefix; o.LocalCacheEnabled = true; }).AsHybridCache();
}
