using System.Text.Json;
using CacheFlow;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;
using ZiggyCreatures.Caching.Fusion.Locking.Distributed.Redis;

namespace CacheFlow.Bench;

/// <summary>
/// One cache under test, as one process would hold it: its own Redis connection (and its own L1, for those that
/// have one). Every variant caches an <c>int</c> version under a key and can invalidate it.
/// </summary>
public abstract class CacheVariant : IAsyncDisposable
{
    public abstract Task<int> GetOrLoadAsync(string key, Func<CancellationToken, Task<int>> load);

    public abstract Task InvalidateAsync(string key);

    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>The variants by name; each call makes a new instance (a new "process") on its own connection.</summary>
    public static IReadOnlyDictionary<string, Func<string, string, Task<CacheVariant>>> All { get; } = new Dictionary<string, Func<string, string, Task<CacheVariant>>>
    {
        ["plain cache-aside"] = async (redis, prefix) => new PlainCacheAside(await ConnectAsync(redis), prefix, perProcessLock: false),
        ["per-process lock"] = async (redis, prefix) => new PlainCacheAside(await ConnectAsync(redis), prefix, perProcessLock: true),
        ["FusionCache"] = async (redis, prefix) => new Fusion(await ConnectAsync(redis), prefix, distributedLocker: false),
        ["FusionCache + locker"] = async (redis, prefix) => new Fusion(await ConnectAsync(redis), prefix, distributedLocker: true),
        ["HybridCache"] = async (redis, prefix) => new Hybrid(await ConnectAsync(redis), prefix),
        ["CacheFlow"] = async (redis, prefix) => new Flow(await ConnectAsync(redis), prefix, local: false),
        ["CacheFlow + L1"] = async (redis, prefix) => new Flow(await ConnectAsync(redis), prefix, local: true),
    };

    private static async Task<ConnectionMultiplexer> ConnectAsync(string redis) => await ConnectionMultiplexer.ConnectAsync($"{redis},allowAdmin=true");

    /// <summary>The textbook: GET; on a miss load and SET; invalidate with DEL. Optionally one load per key per process.</summary>
    private sealed class PlainCacheAside(ConnectionMultiplexer redis, string prefix, bool perProcessLock) : CacheVariant
    {
        private readonly Dictionary<string, SemaphoreSlim> _locks = [];

        public override async Task<int> GetOrLoadAsync(string key, Func<CancellationToken, Task<int>> load)
        {
            var db = redis.GetDatabase();
            if ((int?)await db.StringGetAsync(prefix + key) is { } hit)
                return hit;
            if (!perProcessLock)
                return await LoadAndSetAsync();
            SemaphoreSlim gate;
            lock (_locks)
                gate = _locks.TryGetValue(key, out var existing) ? existing : _locks[key] = new SemaphoreSlim(1);
            await gate.WaitAsync();
            try
            {
                return (int?)await db.StringGetAsync(prefix + key) ?? await LoadAndSetAsync();
            }
            finally
            {
                gate.Release();
            }

            async Task<int> LoadAndSetAsync()
            {
                var value = await load(CancellationToken.None);
                await db.StringSetAsync(prefix + key, value, TimeSpan.FromMinutes(5));
                return value;
            }
        }

        public override Task InvalidateAsync(string key) => redis.GetDatabase().KeyDeleteAsync(prefix + key);

        public override ValueTask DisposeAsync() => redis.DisposeAsync();
    }

    /// <summary>FusionCache 2.9: memory L1, Redis L2, Redis backplane, optionally its Redis distributed locker.</summary>
    private sealed class Fusion : CacheVariant
    {
        private readonly ConnectionMultiplexer _redis;
        private readonly FusionCache _cache;

        public Fusion(ConnectionMultiplexer redis, string prefix, bool distributedLocker)
        {
            _redis = redis;
            _cache = PeerCaches.Fusion(redis, "bench", prefix, PeerCaches.Json, new FusionCacheEntryOptions { Duration = TimeSpan.FromMinutes(5) });
            if (distributedLocker)
            {
                _cache.SetupDistributedLocker(new RedisDistributedLocker(
                    Options.Create(new RedisDistributedLockerOptions { ConnectionMultiplexerFactory = () => Task.FromResult<IConnectionMultiplexer>(redis) }),
                    NullLogger<RedisDistributedLocker>.Instance));
            }
        }

        public override async Task<int> GetOrLoadAsync(string key, Func<CancellationToken, Task<int>> load) =>
            await _cache.GetOrSetAsync<int>(key, async (_, ct) => await load(ct));

        public override Task InvalidateAsync(string key) => _cache.RemoveAsync(key).AsTask();

        public override async ValueTask DisposeAsync()
        {
            _cache.Dispose();
            await _redis.DisposeAsync();
        }
    }

    /// <summary>Microsoft's HybridCache over the same Redis (IDistributedCache from Microsoft.Extensions.Caching.StackExchangeRedis).</summary>
    private sealed class Hybrid : CacheVariant
    {
        private readonly ConnectionMultiplexer _redis;
        private readonly ServiceProvider _services;
        private readonly HybridCache _cache;
        private readonly string _prefix;

        public Hybrid(ConnectionMultiplexer redis, string prefix)
        {
            _redis = redis;
            _prefix = prefix;
            _services = PeerCaches.Hybrid(redis, new HybridCacheEntryOptions { Expiration = TimeSpan.FromMinutes(5), LocalCacheExpiration = TimeSpan.FromMinutes(5) });
            _cache = _services.GetRequiredService<HybridCache>();
        }

        public override async Task<int> GetOrLoadAsync(string key, Func<CancellationToken, Task<int>> load) =>
            await _cache.GetOrCreateAsync(_prefix + key, async ct => await load(ct));

        public override Task InvalidateAsync(string key) => _cache.RemoveAsync(_prefix + key).AsTask();

        public override async ValueTask DisposeAsync()
        {
            await _services.DisposeAsync();
            await _redis.DisposeAsync();
        }
    }

    /// <summary>CacheFlow: leases, lease-checked write-back, single-flight; Redis only (as the API ships) or with its L1 and bus.</summary>
    private sealed class Flow(ConnectionMultiplexer redis, string prefix, bool local) : CacheVariant
    {
        private readonly CacheFlowCache _cache = new(redis, Options.Create(new CacheFlowOptions { KeyPrefix = prefix, SerializerOptions = JsonSerializerOptions.Web, LocalCacheEnabled = local }),
            TimeProvider.System, NullLogger<CacheFlowCache>.Instance);

        public override async Task<int> GetOrLoadAsync(string key, Func<CancellationToken, Task<int>> load) =>
            (await _cache.GetOrCreateAsync(key, async ct => await load(ct))).Value;

        public override Task InvalidateAsync(string key) => _cache.RemoveAsync(key).AsTask();

        public override async ValueTask DisposeAsync()
        {
            _cache.Dispose();
            await redis.DisposeAsync();
        }
    }
}
