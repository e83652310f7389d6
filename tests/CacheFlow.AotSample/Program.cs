// A small native AOT application written as a user would: CacheFlow from a configuration section, as the application's
// HybridCache (strings stored without JSON) and as ICacheFlow (a record through a source-generated JSON context), output
// caching in CacheFlow, and the health check. /loads counts the factory calls, so a caller can tell a hit from a load.
using System.Text.Json;
using System.Text.Json.Serialization;
using CacheFlow;
using Microsoft.Extensions.Caching.Hybrid;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, SampleJson.Default));
builder.Services.AddCacheFlow(builder.Configuration.GetSection("CacheFlow"), options =>
{
    options.LocalCacheEnabled = true;
    options.SerializerOptions = new JsonSerializerOptions(JsonSerializerDefaults.Web) { TypeInfoResolver = SampleJson.Default };
}).AsHybridCache();
builder.Services.AddOutputCache().AddCacheFlowOutputCacheStore();
builder.Services.AddHealthChecks().AddCacheFlow();

var app = builder.Build();
app.UseOutputCache();
var loads = 0;
app.MapGet("/greeting/{name}", (string name, HybridCache cache, CancellationToken cancellationToken) =>
    cache.GetOrCreateAsync($"greeting:{name}", _ =>
    {
        Interlocked.Increment(ref loads);
        return ValueTask.FromResult($"hello {name}");
    }, cancellationToken: cancellationToken));
app.MapGet("/products/{id:int}", async (int id, ICacheFlow cache, CancellationToken cancellationToken) =>
    (await cache.GetOrCreateAsync($"product:{id}", _ =>
    {
        Interlocked.Increment(ref loads);
        return ValueTask.FromResult(new Product(id, $"product {id}"));
    }, cancellationToken: cancellationToken)).Value);
app.MapGet("/clock", () =>
{
    Interlocked.Increment(ref loads);
    return DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
}).CacheOutput();
app.MapGet("/loads", () => Volatile.Read(ref loads));
app.MapHealthChecks("/health");
app.Run();

internal sealed record Product(int Id, string Name);

[JsonSerializable(typeof(Product))]
internal sealed partial class SampleJson : JsonSerializerContext;
