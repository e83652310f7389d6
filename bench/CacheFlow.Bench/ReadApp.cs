using System.Runtime.CompilerServices;
using System.Text.Json;
using CacheFlow.Api.Data;
using CacheFlow.Api.Users;
using CacheFlow.AspNetCore;
using CacheFlow.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;

namespace CacheFlow.Bench;

/// <summary>
/// The seed's two read endpoints, <c>GET /users/{id}</c> and <c>GET /users?page&amp;limit</c>, over the API's own
/// repository, served once per variant under <c>/{variant}/</c> in one Kestrel app; and the two ceilings: an endpoint
/// that writes pre-serialized bytes from a dictionary (an L1 hit at best) and one that does a single raw Redis GET
/// and writes its bytes (an L2 hit at best). Every variant has its own keys and counts its database loads.
/// </summary>
public sealed class ReadApp : IAsyncDisposable
{
    public const string DictionaryCeiling = "dictionary ceiling";
    public const string RedisCeiling = "Redis GET ceiling";
    public const string NoCache = "no cache";

    /// <summary>The variants that serve both endpoints (the ceilings serve only warm ids).</summary>
    public static readonly string[] Caches = [NoCache, "CacheFlow L2", "CacheFlow L1+L2", "FusionCache L2", "FusionCache L1+L2", "HybridCache L2", "HybridCache L1+L2"];

    private static readonly JsonSerializerOptions Json = PeerCaches.Json;

    private readonly WebApplication _app;
    private readonly Dictionary<string, StrongBox<long>> _loads = Caches.ToDictionary(c => c, _ => new StrongBox<long>());
    private readonly List<IDisposable> _caches = [];
    private long _inFlight;

    private ReadApp(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    /// <summary>Database loads (factory calls) a variant has made so far.</summary>
    public long Loads(string variant) => _loads.TryGetValue(variant, out var loads) ? Interlocked.Read(ref loads.Value) : 0;

    /// <summary>Waits until no database load is running (wrk stops waiting at the end of a run; slow loads go on).</summary>
    public async Task SettleAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (Interlocked.Read(ref _inFlight) > 0)
            await Task.Delay(50, deadline.Token);
    }

    public static string Slug(string variant) =>
        new string([.. variant.ToLowerInvariant().Where(c => char.IsAsciiLetterOrDigit(c) || c == ' ')]).Replace(' ', '-');

    public static async Task<ReadApp> StartAsync(IConnectionMultiplexer redis, IUserRepository users, int warmUsers)
    {
        var port = ServerProcess.FreeLoopbackPort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders(); builder.Logging.AddConsole(); builder.Logging.SetMinimumLevel(LogLevel.Error);
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var read = new ReadApp(builder.Build(), port);
        await read.MapAsync(redis, users, warmUsers);
        await read._app.StartAsync();
        return read;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        foreach (var cache in _caches)
            cache.Dispose();
    }

    private async Task MapAsync(IConnectionMultiplexer redis, IUserRepository users, int warmUsers)
    {
        var app = _app;
        var db = redis.GetDatabase();
        var dictionary = new Dictionary<long, byte[]>();
        for (var id = 1L; id <= warmUsers; id++)
        {
            dictionary[id] = JsonSerializer.SerializeToUtf8Bytes(await users.GetAsync(id, default), Json);
            await db.StringSetAsync($"raw:{id}", dictionary[id]);
        }

        app.MapGet($"/{Slug(DictionaryCeiling)}/users/{{id:long}}", (long id, HttpResponse response) => Write(response, dictionary[id]));
        app.MapGet($"/{Slug(RedisCeiling)}/users/{{id:long}}", async (long id, HttpResponse response) => await Write(response, (byte[])(await db.StringGetAsync($"raw:{id}"))!));

        var hour = TimeSpan.FromHours(1);
        Map(NoCache, async (_, load) => Framed(await load(default)), async (_, _, load) => Framed(await load(default)));

        // Configured alike: one hour everywhere, and an L1 as unbounded as the peers' (CacheFlow's default holds 10,000).
        var entry = new CacheEntryOptions { Duration = hour };
        foreach (var (name, local) in new[] { ("CacheFlow L2", false), ("CacheFlow L1+L2", true) })
        {
            var flow = new CacheFlowCache(redis, Options.Create(new CacheFlowOptions { KeyPrefix = Slug(name) + ":", SerializerOptions = Json, LocalCacheEnabled = local, LocalMaxAge = hour, LocalSizeLimit = 10_000_000 }),
                TimeProvider.System, NullLogger<CacheFlowCache>.Instance);
            _caches.Add(flow);
            Map(name,
                async (key, load) => new CachedJsonResult<User>(await flow.GetOrCreateJsonAsync(key, ct => new ValueTask<User?>(load(ct)), entry)),
                async (page, limit, load) => new CachedJsonResult<UsersPage>(await flow.GetOrCreateJsonAsync($"users:list:page={page}:limit={limit}", ct => new ValueTask<UsersPage>(load(ct)), entry)));
        }

        foreach (var (name, local) in new[] { ("FusionCache L2", false), ("FusionCache L1+L2", true) })
        {
            var fusion = PeerCaches.Fusion(redis, Slug(name), Slug(name) + ":", Json);
            _caches.Add(fusion);
            var options = new FusionCacheEntryOptions { Duration = hour, SkipMemoryCacheRead = !local, SkipMemoryCacheWrite = !local };
            Map(name,
                async (key, load) => Framed(await fusion.GetOrSetAsync<User?>(key, async (_, ct) => await load(ct), options)),
                async (page, limit, load) => Framed(await fusion.GetOrSetAsync<UsersPage>($"users:list:page={page}:limit={limit}", async (_, ct) => await load(ct), options)));
        }

        var hybridServices = PeerCaches.Hybrid(redis);
        _caches.Add(hybridServices);
        var hybrid = hybridServices.GetRequiredService<HybridCache>();
        foreach (var (name, local) in new[] { ("HybridCache L2", false), ("HybridCache L1+L2", true) })
        {
            var options = new HybridCacheEntryOptions { Expiration = hour, LocalCacheExpiration = hour, Flags = local ? HybridCacheEntryFlags.None : HybridCacheEntryFlags.DisableLocalCache };
            var prefix = Slug(name) + ":";
            Map(name,
                async (key, load) => Framed(await hybrid.GetOrCreateAsync(prefix + key, async ct => await load(ct), options)),
                async (page, limit, load) => Framed(await hybrid.GetOrCreateAsync($"{prefix}users:list:page={page}:limit={limit}", async ct => await load(ct), options)));
        }

        void Map(string name, Func<string, Func<CancellationToken, Task<User?>>, Task<IResult>> user, Func<int, int, Func<CancellationToken, Task<UsersPage>>, Task<IResult>> list)
        {
            var loads = _loads[name];
            app.MapGet($"/{Slug(name)}/users/{{id:long}}", (long id) => user($"user:{id}", ct => Counted(() => users.GetAsync(id, ct))));
            // The miss path: the run's generation is part of the key, so every read of a run is a key no run read before.
            app.MapGet($"/{Slug(name)}/cold/{{generation:int}}/users/{{id:long}}", (int generation, long id) =>
                user($"cold:{generation}:user:{id}", ct => Counted(() => users.GetAsync(id, ct))));
            // Misses among hits: a key of the same family as the warm ones (user), never read before (the run's generation in it).
            app.MapGet($"/{Slug(name)}/fresh/{{generation:int}}/users/{{id:long}}", (int generation, long id) =>
                user($"user:{id}-{generation}", ct => Counted(() => users.GetAsync(id, ct))));
            app.MapGet($"/{Slug(name)}/users", (int page, int limit) => list(page, limit, ct => Counted(() => users.ListAsync(page, limit, ct))));

            async Task<T> Counted<T>(Func<Task<T>> load)
            {
                Interlocked.Increment(ref loads.Value);
                Interlocked.Increment(ref _inFlight);
                try
                {
                    return await load();
                }
                finally
                {
                    Interlocked.Decrement(ref _inFlight);
                }
            }
        }
    }

    /// <summary>
    /// A value serialized for the response as the API's JSON with a Content-Length: every variant frames its body the
    /// same way as CacheFlow's cached bytes (none is chunked), so the comparison is of the caches alone.
    /// </summary>
    private static IResult Framed<T>(T value) => new FramedJson(JsonSerializer.SerializeToUtf8Bytes(value, Json));

    private static Task Write(HttpResponse response, byte[] json)
    {
        response.ContentType = "application/json; charset=utf-8";
        response.ContentLength = json.Length;
        return response.Body.WriteAsync(json).AsTask();
    }

    private sealed class FramedJson(byte[] json) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext) => Write(httpContext.Response, json);
    }
}
