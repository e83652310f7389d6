using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using CacheFlow.Api.Users;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;
using ZiggyCreatures.Caching.Fusion.MicrosoftHybridCache;

namespace CacheFlow.Bench;

/// <summary>
/// The hit path in process (BenchmarkDotNet): one warm key read through each cache, as the read endpoint would.
/// CacheFlow's JSON read hands back response-ready bytes; its typed read and the peers hand back a <c>User</c>
/// (from the L1 the peers return the instance they hold; from Redis everyone deserializes). The rows through the
/// <see cref="HybridCache"/> API read a sealed <c>[ImmutableObject(true)]</c> value, so every library may share its
/// instance from the L1: each one's fastest documented path.
/// </summary>
[MemoryDiagnoser]
public class HitPathBenchmarks
{
    private const string Key = "user:1";
    private static readonly User Sample = new() { Id = 1, Username = "user1", Email = "user1@example.com", IsActive = true, LoginCount = 7, CreatedAt = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc) };
    private static readonly Func<CancellationToken, ValueTask<User?>> Load = static _ => new ValueTask<User?>(Sample);
    private static readonly JsonSerializerOptions Json = PeerCaches.Json;
    private static readonly FrozenUser FrozenSample = new(1, "user1", "user1@example.com", true, 7, Sample.CreatedAt);
    private static readonly Func<CancellationToken, ValueTask<FrozenUser>> LoadFrozen = static _ => new ValueTask<FrozenUser>(FrozenSample);

    private readonly CacheEntryOptions _entry = new() { Duration = TimeSpan.FromHours(1) };
    private readonly CacheEntryOptions _tagged = new() { Duration = TimeSpan.FromHours(1), Tags = ["users:list"] };
    private readonly FusionCacheEntryOptions _fusionL1 = new() { Duration = TimeSpan.FromHours(1) };
    private readonly FusionCacheEntryOptions _fusionL2 = new() { Duration = TimeSpan.FromHours(1), SkipMemoryCacheRead = true, SkipMemoryCacheWrite = true };
    private readonly HybridCacheEntryOptions _hybridL1 = new() { Expiration = TimeSpan.FromHours(1), LocalCacheExpiration = TimeSpan.FromHours(1) };
    private readonly HybridCacheEntryOptions _hybridL2 = new() { Expiration = TimeSpan.FromHours(1), Flags = HybridCacheEntryFlags.DisableLocalCache };

    // Misses live a minute, so the keys of a long run do not pile up in Redis.
    private readonly CacheEntryOptions _missFlow = new() { Duration = TimeSpan.FromMinutes(1) };
    private readonly FusionCacheEntryOptions _missFusion = new() { Duration = TimeSpan.FromMinutes(1), SkipMemoryCacheRead = true, SkipMemoryCacheWrite = true };
    private readonly HybridCacheEntryOptions _missHybrid = new() { Expiration = TimeSpan.FromMinutes(1), Flags = HybridCacheEntryFlags.DisableLocalCache };
    private long _missed;

    private ConnectionMultiplexer _redis = null!;
    private CacheFlowCache _flowL1 = null!, _flowL2 = null!;
    private FusionCache _fusion = null!;
    private ServiceProvider _services = null!;
    private HybridCache _hybrid = null!;
    private HybridCache _flowHybrid = null!, _fusionHybrid = null!;

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
        _flowHybrid = new CacheFlowHybridCache(_flowL1, Options.Create(new HybridCacheOptions()), Options.Create(_flowL1Options), _services, NullLogger<CacheFlowHybridCache>.Instance);
        _fusionHybrid = new FusionHybridCache(_fusion);

        // Warm every path once, so each measured call is a hit.
        await CacheFlowL1Json();
        await CacheFlowL2Json();
        await CacheFlowL2JsonTagged();
        await FusionL1();
        await FusionL2();
        await HybridL1();
        await HybridL2();
        await CacheFlowL1Frozen();
        await HybridApiCacheFlowL1();
        await HybridApiFusionL1();
        await HybridApiMicrosoftL1();
        await HybridApiCacheFlowL2();
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

    [Benchmark(Description = "CacheFlow L1 (typed, immutable)")]
    [BenchmarkCategory("L1")]
    public async Task<FrozenUser?> CacheFlowL1Frozen() => (await _flowL1.GetOrCreateAsync("f:" + Key, LoadFrozen, _entry)).Value;

    [Benchmark(Description = "HybridCache API L1: CacheFlow")]
    [BenchmarkCategory("L1")]
    public async Task<FrozenUser> HybridApiCacheFlowL1() => await _flowHybrid.GetOrCreateAsync("a:" + Key, LoadFrozen, _hybridL1);

    [Benchmark(Description = "HybridCache API L1: FusionCache")]
    [BenchmarkCategory("L1")]
    public async Task<FrozenUser> HybridApiFusionL1() => await _fusionHybrid.GetOrCreateAsync("a:" + Key, LoadFrozen, _hybridL1);

    [Benchmark(Description = "HybridCache API L1: Microsoft")]
    [BenchmarkCategory("L1")]
    public async Task<FrozenUser> HybridApiMicrosoftL1() => await _hybrid.GetOrCreateAsync("a:" + Key, LoadFrozen, _hybridL1);

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

    [Benchmark(Description = "CacheFlow L2 (JSON, one tag)")]
    [BenchmarkCategory("L2")]
    public async Task<int> CacheFlowL2JsonTagged() => (await _flowL2.GetOrCreateJsonAsync("t:" + Key, Load, _tagged)).Json.Length;

    [Benchmark(Description = "FusionCache L2")]
    [BenchmarkCategory("L2")]
    public async Task<User?> FusionL2() => await _fusion.GetOrSetAsync<User?>(Key, static async (_, _) => Sample, _fusionL2);

    [Benchmark(Description = "HybridCache API L2: CacheFlow")]
    [BenchmarkCategory("L2")]
    public async Task<FrozenUser> HybridApiCacheFlowL2() => await _flowHybrid.GetOrCreateAsync("a2:" + Key, LoadFrozen, _hybridL2);

    [Benchmark(Description = "HybridCache L2")]
    [BenchmarkCategory("L2")]
    public async Task<User?> HybridL2() => await _hybrid.GetOrCreateAsync("h2:" + Key, Load, _hybridL2);

    [Benchmark(Description = "CacheFlow miss (typed)")]
    [BenchmarkCategory("Miss")]
    public async Task<User?> CacheFlowMiss() => (await _flowL2.GetOrCreateAsync(NextMiss("m2:"), Load, _missFlow)).Value;

    [Benchmark(Description = "CacheFlow miss (JSON)")]
    [BenchmarkCategory("Miss")]
    public async Task<int> CacheFlowMissJson() => (await _flowL2.GetOrCreateJsonAsync(NextMiss("m2j:"), Load, _missFlow)).Json.Length;

    [Benchmark(Description = "FusionCache miss")]
    [BenchmarkCategory("Miss")]
    public async Task<User?> FusionMiss() => await _fusion.GetOrSetAsync<User?>(NextMiss("mf2:"), static async (_, _) => Sample, _missFusion);

    [Benchmark(Description = "HybridCache miss")]
    [BenchmarkCategory("Miss")]
    public async Task<User?> HybridMiss() => await _hybrid.GetOrCreateAsync(NextMiss("h2:"), Load, _missHybrid);

    /// <summary>A key never read before, in one family of the cache's (a user id past the warm ones): every call misses.</summary>
    private string NextMiss(string prefix) => prefix + "user:" + Interlocked.Increment(ref _missed).ToString(CultureInfo.InvariantCulture);

    private static readonly Dictionary<string, byte[]> Ceiling = new() { [Key] = JsonSerializer.SerializeToUtf8Bytes(Sample, Json) };

    private CacheFlowOptions _flowL1Options = null!;

    private CacheFlowCache Flow(string prefix, bool local)
    {
        var options = new CacheFlowOptions { KeyPrefix = prefix, SerializerOptions = Json, LocalCacheEnabled = local, LocalMaxAge = TimeSpan.FromHours(1) };
        if (local)
            _flowL1Options = options;
        return new(_redis, Options.Create(options), TimeProvider.System, NullLogger<CacheFlowCache>.Instance);
    }
}

/// <summary>A user as an immutable value: sealed and marked, so HybridCache-style caches may share one instance.</summary>
[ImmutableObject(true)]
public sealed record FrozenUser(long Id, string Username, string Email, bool IsActive, int LoginCount, DateTime CreatedAt);
