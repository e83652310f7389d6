using CacheFlow.Redis;
// A user's program over the packed packages: registers CacheFlow (by a configuration string) as a HybridCache, its
// output-cache store and its health check, then writes, reads and evicts through them against the Redis named by the
// first argument; then queues a write behind and applies it. Exits 0 and prints "ok" when all of it worked.
using System.Text.Json;
using CacheFlow;
using CacheFlow.AspNetCore;
using CacheFlow.WriteBehind;
using Microsoft.AspNetCore.OutputCaching;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

var services = new ServiceCollection();
services.AddLogging();
// CacheFlow connects by itself with the configuration string given. A generous Redis timeout: the test runs this
// program beside the rest of its suite on two cores, where a first script on the shared Garnet can outlast the
// default second (CI once saw the first SetAsync refused so).
services.AddCacheFlow(args[0], cache =>
{
    cache.KeyPrefix = $"package:{Guid.NewGuid():N}:";
    cache.LocalCacheEnabled = true;
    cache.RedisTimeout = TimeSpan.FromSeconds(10);
}).AsHybridCache();
services.AddOutputCache().AddCacheFlowOutputCacheStore();
services.AddHealthChecks().AddCacheFlow();
await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });

var cache = provider.GetRequiredService<ICacheFlow>();
Check(await cache.SetAsync("greeting:1", new Greeting("hello")), $"SetAsync wrote the value (Redis errors: {cache.GetStatistics().Total.Errors})");
var read = await cache.GetOrCreateAsync<Greeting>("greeting:1", _ => throw new InvalidOperationException("a hit loads nothing"));
Check(read is { Outcome: CacheOutcome.Hit, Value.Text: "hello" }, $"GetOrCreateAsync hit the value written (got {read.Outcome})");

var hybrid = provider.GetRequiredService<HybridCache>();
Check(hybrid is CacheFlowHybridCache, $"the HybridCache is CacheFlow's (got {hybrid.GetType().Name})");
var loaded = await hybrid.GetOrCreateAsync("greeting:2", _ => ValueTask.FromResult(new Greeting("hybrid")), tags: ["greetings"]);
var again = await hybrid.GetOrCreateAsync<Greeting>("greeting:2", _ => throw new InvalidOperationException("a hit loads nothing"));
Check(loaded.Text == "hybrid" && again.Text == "hybrid", "HybridCache.GetOrCreateAsync cached the value");
await hybrid.RemoveByTagAsync("greetings");
var reloaded = await hybrid.GetOrCreateAsync("greeting:2", _ => ValueTask.FromResult(new Greeting("reloaded")));
Check(reloaded.Text == "reloaded", "RemoveByTagAsync removed it");

var text = await hybrid.GetOrCreateAsync("greeting:3", _ => ValueTask.FromResult("plain text"));
Check(text == "plain text" && await hybrid.GetOrCreateAsync("greeting:3", _ => ValueTask.FromResult("loaded again")) == "plain text", "a string was cached");

var health = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();
Check(health.Status == HealthStatus.Healthy, $"the health check found Redis (got {health.Status})");

var store = provider.GetRequiredService<IOutputCacheStore>();
Check(store is CacheFlowOutputCacheStore, $"the output-cache store is CacheFlow's (got {store.GetType().Name})");
await store.SetAsync("GET/page", [1, 2, 3], ["pages"], TimeSpan.FromMinutes(1), CancellationToken.None);
Check(await store.GetAsync("GET/page", CancellationToken.None) is [1, 2, 3], "the store returned the response it stored");
await store.EvictByTagAsync("pages", CancellationToken.None);
Check(await store.GetAsync("GET/page", CancellationToken.None) is null, "EvictByTagAsync removed it");

// Write-behind (package CacheFlow.WriteBehind): a queue under the cache's durable prefix, through the cache's guard.
await using var redis = await ConnectionMultiplexer.ConnectAsync(args[0]);
using var queue = new WriteBehindQueue(redis, provider.GetRequiredService<IOptions<CacheFlowOptions>>().Value.DurableKeyPrefix, "greetings",
    new WriteBehindOptions(), TimeProvider.System, guard: provider.GetRequiredService<RedisGuard>());
var accepted = await queue.EnqueueAsync("greet", JsonSerializer.SerializeToElement(new Greeting("queued")));
Check(await queue.GetStatusAsync(accepted.Id) is { State: WriteStatus.Pending }, "EnqueueAsync left the write pending");
var taken = await queue.TakeAsync(10);
Check(taken is [{ } write] && write.Id == accepted.Id && write.Payload.GetProperty("Text").GetString() == "queued", $"TakeAsync took the write (took {taken.Count})");
await queue.CompleteAsync(taken[0], "1");
Check(await queue.GetStatusAsync(accepted.Id) is { State: WriteStatus.Done, Result: "1" }, "CompleteAsync marked the write done");

Console.WriteLine("ok");
return 0;

static void Check(bool condition, string what)
{
    if (!condition)
        throw new InvalidOperationException("Failed: " + what);
}

internal sealed record Greeting(string Text);
