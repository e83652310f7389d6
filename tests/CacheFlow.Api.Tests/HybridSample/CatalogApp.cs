using System.Collections.Concurrent;
using System.ComponentModel;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;

namespace CacheFlow.Api.Tests.HybridSample;

/// <summary>A product: immutable, so HybridCache may hand out the instance it holds.</summary>
[ImmutableObject(true)]
public sealed record Product(int Id, string Name, string Category, decimal Price);

/// <summary>The catalog's storage: an in-memory table that counts its reads, as a database's would be counted.</summary>
public sealed class ProductStore
{
    private readonly ConcurrentDictionary<int, Product> _products = new(Enumerable.Range(1, 6).Select(i =>
        KeyValuePair.Create(i, new Product(i, $"product {i}", i % 2 == 0 ? "even" : "odd", 10m * i))));

    private int _reads;

    public int Reads => Volatile.Read(ref _reads);

    public Task<Product?> GetAsync(int id, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _reads);
        return Task.FromResult(_products.GetValueOrDefault(id));
    }

    public Task<Product[]> InCategoryAsync(string category, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _reads);
        return Task.FromResult(_products.Values.Where(p => p.Category == category).OrderBy(p => p.Id).ToArray());
    }

    public Product Rename(int id, string name) => _products[id] = _products[id] with { Name = name };
}

/// <summary>
/// A small catalog written against Microsoft's <see cref="HybridCache"/> API only, as an application using
/// <c>AddHybridCache()</c> would be: reads with tags, a read that skips the caches, removal by key, by tag and of
/// everything (<c>"*"</c>). Which HybridCache serves it is the one line the caller passes as <c>registerHybridCache</c>.
/// </summary>
public sealed class CatalogApp : IAsyncDisposable
{
    private static readonly HybridCacheEntryOptions Fresh = new() { Flags = HybridCacheEntryFlags.DisableLocalCacheRead | HybridCacheEntryFlags.DisableDistributedCacheRead };

    private readonly WebApplication _app;

    private CatalogApp(WebApplication app) => _app = app;

    public HttpClient Client { get; private set; } = null!;

    public ProductStore Store => _app.Services.GetRequiredService<ProductStore>();

    public static async Task<CatalogApp> StartAsync(Action<IServiceCollection> registerHybridCache, ProductStore? store = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddSingleton(store ?? new ProductStore());
        registerHybridCache(builder.Services);
        var app = builder.Build();

        app.MapGet("/products/{id:int}", async (int id, HybridCache cache, ProductStore products, CancellationToken ct) =>
            await cache.GetOrCreateAsync($"product:{id}", async token => await products.GetAsync(id, token), tags: ["products"], cancellationToken: ct)
                is { } product ? Results.Ok(product) : Results.NotFound());
        app.MapGet("/products/{id:int}/fresh", async (int id, HybridCache cache, ProductStore products, CancellationToken ct) =>
            Results.Ok(await cache.GetOrCreateAsync($"product:{id}", async token => await products.GetAsync(id, token), Fresh, ["products"], ct)));
        app.MapGet("/categories/{category}", async (string category, HybridCache cache, ProductStore products, CancellationToken ct) =>
            Results.Ok(await cache.GetOrCreateAsync($"category:{category}", async token => await products.InCategoryAsync(category, token),
                tags: ["products", $"category:{category}"], cancellationToken: ct)));
        app.MapPut("/products/{id:int}/name", async (int id, string name, HybridCache cache, ProductStore products) =>
        {
            var renamed = products.Rename(id, name);
            await cache.RemoveAsync($"product:{id}");
            await cache.RemoveByTagAsync($"category:{renamed.Category}");
            return Results.Ok(renamed);
        });
        app.MapPost("/cache/flush", async (HybridCache cache) =>
        {
            await cache.RemoveByTagAsync("*");
            return Results.NoContent();
        });

        var catalog = new CatalogApp(app);
        try
        {
            await app.StartAsync();
            catalog.Client = app.GetTestClient();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return catalog;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.DisposeAsync();
    }
}
