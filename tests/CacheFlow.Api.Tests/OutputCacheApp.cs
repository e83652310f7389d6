using CacheFlow.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.OutputCaching;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace CacheFlow.Api.Tests;

/// <summary>
/// A small app on TestServer with output caching stored in CacheFlow: <c>/items</c> (<c>.CacheOutput</c>, tag
/// <c>items</c>), <c>/other</c> (tag <c>other</c>) and <c>/attributed</c> (<c>[OutputCache]</c>, tag <c>items</c>),
/// each answering its name and the app's handler call count.
/// </summary>
public sealed class OutputCacheApp : IAsyncDisposable
{
    public static readonly TimeSpan ItemsExpiry = TimeSpan.FromSeconds(30);

    private readonly WebApplication _app;
    private int _calls;

    private OutputCacheApp(WebApplication app) => _app = app;

    /// <summary>A client of the started app.</summary>
    public HttpClient Client { get; private set; } = null!;

    /// <summary>How many times the handlers ran.</summary>
    public int Calls => Volatile.Read(ref _calls);

    public IOutputCacheStore Store => _app.Services.GetRequiredService<IOutputCacheStore>();

    public CacheStatistics Statistics => _app.Services.GetRequiredService<ICacheFlow>().GetStatistics();

    public static async Task<OutputCacheApp> StartAsync(
        IConnectionMultiplexer redis, string keyPrefix, bool localCache = false, TimeProvider? time = null, double jitterPercent = 0, TimeSpan? redisTimeout = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddSingleton(redis);
        if (time is not null)
            builder.Services.AddSingleton(time);
        builder.Services.AddCacheFlow(options =>
        {
            options.KeyPrefix = keyPrefix;
            options.LocalCacheEnabled = localCache;
            options.JitterPercent = jitterPercent;
            // Generous: two cores are shared with other suites, and a slow read would be a miss here.
            options.RedisTimeout = redisTimeout ?? TimeSpan.FromSeconds(10);
        });
        builder.Services.AddOutputCache().AddCacheFlowOutputCacheStore();
        var app = builder.Build();
        var instance = new OutputCacheApp(app);
        app.UseOutputCache();
        app.MapGet("/items", () => $"items {instance.NextCall()}").CacheOutput(policy => policy.Tag("items").Expire(ItemsExpiry));
        app.MapGet("/other", () => $"other {instance.NextCall()}").CacheOutput(policy => policy.Tag("other"));
        app.MapGet("/attributed", [OutputCache(Duration = 60, Tags = ["items"])] () => $"attributed {instance.NextCall()}");
        try
        {
            await app.StartAsync();
            instance.Client = app.GetTestClient();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return instance;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.DisposeAsync();
    }

    private int NextCall() => Interlocked.Increment(ref _calls);
}
