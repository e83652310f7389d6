using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using CacheFlow;
using CacheFlow.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;
using ZiggyCreatures.Caching.Fusion.Backplane.StackExchangeRedis;
using ZiggyCreatures.Caching.Fusion.Serialization.SystemTextJson;

namespace CacheFlow.Bench;

/// <summary>
/// The read path over HTTP: one Kestrel app in the harness serves the same user JSON through each variant, and wrk
/// (-t2 -c64, a Lua script drawing ids uniformly from 1,000 warm users) measures each in turn. The two ceilings are
/// an endpoint that writes pre-serialized bytes from a dictionary (what an L1 hit can be at best) and one that does a
/// single raw Redis GET and writes its bytes (an L2 hit at best).
/// </summary>
public static partial class ReadScenario
{
    public const int Users = 1000;

    public static readonly string[] Variants =
        ["dictionary ceiling", "Redis GET ceiling", "no cache (SQLite)", "CacheFlow L2", "CacheFlow L1+L2", "FusionCache L2", "FusionCache L1+L2", "HybridCache L2", "HybridCache L1+L2"];

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static async Task<Dictionary<string, List<double>>> RunAsync(string redisConfiguration, int repeats, int seconds)
    {
        var data = Directory.CreateTempSubdirectory("cacheflow-read-");
        var database = Path.Combine(data.FullName, "users.db");
        await SeedAsync(database);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(redisConfiguration);
        var port = FreePort();
        await using var app = Build(redis, database, port);
        await app.StartAsync();
        var paths = Variants.ToDictionary(v => v, v => "/" + v.Replace(' ', '-').Replace("(", "", StringComparison.Ordinal).Replace(")", "", StringComparison.Ordinal).Replace("+", "", StringComparison.Ordinal) + "/");

        using (var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") })
        {
            foreach (var path in paths.Values)
                for (var id = 1; id <= Users; id++)
                    (await client.GetAsync($"{path}{id}")).EnsureSuccessStatusCode();
        }

        var script = Path.Combine(data.FullName, "ids.lua");
        await File.WriteAllTextAsync(script, $$"""
            init = function(args) prefix = args[1] end
            request = function() return wrk.format("GET", prefix .. math.random(1, {{Users}})) end
            """);
        // One short discarded pass, so every variant runs tiered-up code when measured.
        foreach (var variant in Variants)
            await WrkAsync(port, script, paths[variant], 2);
        var results = Variants.ToDictionary(v => v, _ => new List<double>());
        for (var repeat = 0; repeat < repeats; repeat++)
        {
            foreach (var variant in Variants)
            {
                var rps = await WrkAsync(port, script, paths[variant], seconds);
                results[variant].Add(rps);
                Console.WriteLine($"  [read] repeat {repeat + 1}: {variant,-20} {rps,10:F0} requests/s");
            }
        }

        await app.StopAsync();
        SqliteConnection.ClearAllPools();
        data.Delete(recursive: true);
        return results;
    }

    private static WebApplication Build(ConnectionMultiplexer redis, string database, int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Services.AddStackExchangeRedisCache(o => o.ConnectionMultiplexerFactory = () => Task.FromResult<IConnectionMultiplexer>(redis));
        builder.Services.AddHybridCache();
        var app = builder.Build();

        var dictionary = Enumerable.Range(1, Users).ToDictionary(id => id, id => JsonSerializer.SerializeToUtf8Bytes(Person.Of(id), Json));
        var db = redis.GetDatabase();
        foreach (var (id, bytes) in dictionary)
            db.StringSet($"raw:{id}", bytes);
        var l2 = Flow(redis, "r2:", local: false);
        var l1 = Flow(redis, "r1:", local: true);
        var fusion = Fusion(redis);
        var hybrid = app.Services.GetRequiredService<HybridCache>();
        var entry = new CacheEntryOptions { Duration = TimeSpan.FromHours(1) };
        var fusionL2 = new FusionCacheEntryOptions { Duration = TimeSpan.FromHours(1), SkipMemoryCacheRead = true, SkipMemoryCacheWrite = true };
        var fusionL1 = new FusionCacheEntryOptions { Duration = TimeSpan.FromHours(1) };
        var hybridL2 = new HybridCacheEntryOptions { Expiration = TimeSpan.FromHours(1), Flags = HybridCacheEntryFlags.DisableLocalCache };
        var hybridL1 = new HybridCacheEntryOptions { Expiration = TimeSpan.FromHours(1), LocalCacheExpiration = TimeSpan.FromHours(1) };

        app.MapGet("/dictionary-ceiling/{id:int}", (int id, HttpResponse response) => Write(response, dictionary[id]));
        app.MapGet("/Redis-GET-ceiling/{id:int}", async (int id, HttpResponse response) => await Write(response, (byte[])(await db.StringGetAsync($"raw:{id}"))!));
        app.MapGet("/no-cache-SQLite/{id:int}", async (int id) => TypedResults.Json(await LoadAsync(database, id), Json));
        app.MapGet("/CacheFlow-L2/{id:int}", async (int id) =>
            new CachedJsonResult<Person>(await l2.GetOrCreateJsonAsync($"user:{id}", _ => new ValueTask<Person?>(LoadAsync(database, id)), entry)));
        app.MapGet("/CacheFlow-L1L2/{id:int}", async (int id) =>
            new CachedJsonResult<Person>(await l1.GetOrCreateJsonAsync($"user:{id}", _ => new ValueTask<Person?>(LoadAsync(database, id)), entry)));
        app.MapGet("/FusionCache-L2/{id:int}", async (int id) =>
            TypedResults.Json(await fusion.GetOrSetAsync<Person?>($"user:{id}", async (_, _) => await LoadAsync(database, id), fusionL2), Json));
        app.MapGet("/FusionCache-L1L2/{id:int}", async (int id) =>
            TypedResults.Json(await fusion.GetOrSetAsync<Person?>($"user:{id}", async (_, _) => await LoadAsync(database, id), fusionL1), Json));
        app.MapGet("/HybridCache-L2/{id:int}", async (int id) =>
            TypedResults.Json(await hybrid.GetOrCreateAsync($"h2:user:{id}", async _ => await LoadAsync(database, id), hybridL2), Json));
        app.MapGet("/HybridCache-L1L2/{id:int}", async (int id) =>
            TypedResults.Json(await hybrid.GetOrCreateAsync($"h1:user:{id}", async _ => await LoadAsync(database, id), hybridL1), Json));
        return app;
    }

    private static Task Write(HttpResponse response, byte[] json)
    {
        response.ContentType = "application/json; charset=utf-8";
        response.ContentLength = json.Length;
        return response.Body.WriteAsync(json).AsTask();
    }

    private static CacheFlowCache Flow(IConnectionMultiplexer redis, string prefix, bool local) =>
        new(redis, Options.Create(new CacheFlowOptions { KeyPrefix = prefix, SerializerOptions = Json, LocalCacheEnabled = local, LocalMaxAge = TimeSpan.FromHours(1) }),
            TimeProvider.System, NullLogger<CacheFlowCache>.Instance);

    private static FusionCache Fusion(IConnectionMultiplexer redis)
    {
        var fusion = new FusionCache(new FusionCacheOptions { CacheName = "read", CacheKeyPrefix = "f:" });
        fusion.SetupDistributedCache(new RedisCache(new RedisCacheOptions { ConnectionMultiplexerFactory = () => Task.FromResult(redis) }),
            new FusionCacheSystemTextJsonSerializer(Json));
        fusion.SetupBackplane(new RedisBackplane(new RedisBackplaneOptions { ConnectionMultiplexerFactory = () => Task.FromResult(redis) }));
        return fusion;
    }

    private static async Task SeedAsync(string database)
    {
        await using var connection = new SqliteConnection($"Data Source={database}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT, email TEXT, is_active INTEGER, login_count INTEGER);" +
            string.Concat(Enumerable.Range(1, Users).Select(id => $"INSERT INTO users VALUES ({id}, 'user{id:D5}', 'user{id:D5}@example.com', 1, {id * 7 % 1000});"));
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<Person?> LoadAsync(string database, int id)
    {
        await using var connection = new SqliteConnection($"Data Source={database}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, username, email, is_active, login_count FROM users WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? new Person(reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.GetBoolean(3), reader.GetInt64(4)) : null;
    }

    private static async Task<double> WrkAsync(int port, string script, string path, int seconds)
    {
        var start = new ProcessStartInfo("wrk", ["-t2", "-c64", $"-d{seconds}s", "-s", script, $"http://127.0.0.1:{port}", "--", path])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var wrk = Process.Start(start) ?? throw new InvalidOperationException("wrk did not start (apt-get install wrk)");
        var output = await wrk.StandardOutput.ReadToEndAsync();
        await wrk.WaitForExitAsync();
        var match = RequestsPerSecond().Match(output);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : throw new InvalidOperationException($"wrk said: {output}");
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    [GeneratedRegex(@"Requests/sec:\s+([0-9.]+)")]
    private static partial Regex RequestsPerSecond();

    /// <summary>The cached value: a user row.</summary>
    public sealed record Person(int Id, string Username, string Email, bool IsActive, long LoginCount)
    {
        public static Person Of(int id) => new(id, $"user{id:D5}", $"user{id:D5}@example.com", true, id * 7 % 1000);
    }
}
