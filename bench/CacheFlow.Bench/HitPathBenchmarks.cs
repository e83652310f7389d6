using System.Text.Json;
using BenchmarkDotNet.Attributes;
using CacheFlow.Api.Users;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;

namespace CacheFlow.Bench;

/// <summary>
/// The hit path in process (BenchmarkDotNet): one warm key read through each cache, as the read endpoint would.
/// CacheFlow's JSON read hands back response-ready bytes; its typed read and the peers hand back a <c>User</c>
/// (from the L1 the peers return the instance they hold; from Redis everyone deserializes).
/// </summary>
[MemoryDiagnoser]
public class HitPathBenchmarks
{
    private const string Key = "user:1";
    private static readonly User Sample = new() { Id = 1, Username = "user1", Email = "user1@example.com", IsActive = true, LoginCount = 7, CreatedAt = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc) };
    private static readonly Func<CancellationToken, ValueTask<User?>> Load = static _ => new ValueTask<User?>(Sample);
    private static readonly JsonSerializerOptions Json = PeerCaches.Json;

    private readonly CacheEntryOptions _entry = new() { Duration = TimeSpan.FromHours(1) };
    private readonly FusionCacheEntryOptions _fusionL1 = new() { Duration = TimeSpan.FromHours(1) };
    private readonly FusionCacheEntryOptions _fusionL2 = new() { Duration = TimeSpan.FromHours(1), SkipMemoryCacheRead = true, SkipMemoryCacheWrite = true };
    private readonly HybridCacheEntryOptions _hybridL1 = new() { Expiration = TimeSpan.FromHours(1), LocalCacheExpiration = TimeSpan.FromHours(1) };
    private readonly HybridCacheEntryOptions _hybridL2 = new() { Expiration = TimeSpan.FromHours(1), Flags = HybridCacheEntryFlags.DisableLocalCache };

    private ConnectionMultiplexer _redis = null!;
    private CacheFlowCache _flowL1 = null!, _flowL2 = null!;
    private FusionCache _fusion = null!;
    private ServiceProvider _services = null!;
    private HybridCache _hybrid = null!;

    /// <summary>Where Redis is; the harness sets it before the run.</summary>
    public static string Redis { get; set; } = "";

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _redis = await ConnectionMultiplexer.ConnectAsync(Redis);
        _flowL1 = Flow("m1:", local: true);
        _flowL2 = Flow("m2:", local: false);
        _fusion = PeerCaches.Fusion(_redis, "micro", "mf:", Json);
        _services = PeerCaches.Hybrid(_redis);
        _hybrid = _services.GetRequiredService<HybridCache>();

        // Warm every path once, so each measured call is a hit.
        await CacheFlowL1Json();
        await CacheFlowL2Json();
        await FusionL1();
        await FusionL2();
        await HybridL1();
        await HybridL2();
        await _redis.GetDatabase().StringSetAsync("mraw:" + Key, JsonSerializer.SerializeToUtf8Bytes(Sample, Json));
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _flowL1.Dispose();
        _flowL2.Dispose();
        _fusion.Dispose();
        await _services.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Benchmark(Description = "dictionary ceiling")]
    [BenchmarkCategory("L1")]
    public int DictionaryCeiling() => Ceiling.TryGetValue(Key, out var bytes) ? bytes.Length : 0;

    [Benchmark(Description = "CacheFlow L1 (JSON)")]
    [BenchmarkCategory("L1")]
    public async Task<int> CacheFlowL1Json() => (await _flowL1.GetOrCreateJsonAsync(Key, Load, _entry)).Json.Length;

    [Benchmark(Description = "CacheFlow L1 (typed)")]
    [BenchmarkCategory("L1")]
    public async Task<User?> CacheFlowL1Typed() => (await _flowL1.GetOrCreateAsync(Key, Load, _entry)).Value;

    [Benchmark(Description = "FusionCache L1")]
    [BenchmarkCategory("L1")]
    public async Task<User?> FusionL1() => await _fusion.GetOrSetAsync<User?>(Key, static async (_, _) => Sample, _fusionL1);

    [Benchmark(Description = "HybridCache L1")]
    [BenchmarkCategory("L1")]
    public async Task<User?> HybridL1() => await _hybrid.GetOrCreateAsync("h1:" + Key, Load, _hybridL1);

    [Benchmark(Description = "Redis GET ceiling")]
    [BenchmarkCategory("L2")]
    public async Task<int> RedisGetCeiling() => ((byte[])(await _redis.GetDatabase().StringGetAsync("mraw:" + Key))!).Length;

    [Benchmark(Description = "CacheFlow L2 (JSON)")]
    [BenchmarkCategory("L2")]
    public async Task<int> CacheFlowL2Json() => (await _flowL2.GetOrCreateJsonAsync(Key, Load, _entry)).Json.Length;

    [Benchmark(Description = "FusionCache L2")]
    [BenchmarkCategory("L2")]
    public async Task<User?> FusionL2() => await _fusion.GetOrSetAsync<User?>(Key, static async (_, _) => Sample, _fusionL2);

    [Benchmark(Description = "HybridCache L2")]
    [BenchmarkCategory("L2")]
    public async Task<User?> HybridL2() => await _hybrid.GetOrCreateAsync("h2:" + Key, Load, _hybridL2);

    private static readonly Dictionary<string, byte[]> Ceiling = new() { [Key] = JsonSerializer.SerializeToUtf8Bytes(Sample, Json) };

    private CacheFlowCache Flow(string prefix, bool local) =>
        new(_redis, Options.Create(new CacheFlowOptions { KeyPrefix = prefix, SerializerOptions = Json, LocalCacheEnabled = local, LocalMaxAge = TimeSpan.FromHours(1) }),
            TimeProvider.System, NullLogger<CacheFlowCache>.Instance);
}
