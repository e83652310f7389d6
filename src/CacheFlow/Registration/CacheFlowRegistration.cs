using System.Diagnostics.Metrics;
using CacheFlow.Redis;
using CacheFlow.Validation;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CacheFlow.Registration;

/// <summary>
/// One cache registered by <c>AddCacheFlow</c> (no key) or <c>AddKeyedCacheFlow</c> (a service key): its key, and the
/// name of its options (<see cref="Options.DefaultName"/> without a key, else the key's string form). Kept in the
/// container as a marker, so a second registration under the same key is refused instead of merged into the first.
/// </summary>
internal sealed class CacheFlowRegistration
{
    private CacheFlowRegistration(object? key)
    {
        Key = key;
        Name = NameOf(key);
    }

    public object? Key { get; }

    public string Name { get; }

    /// <summary>The options name of the cache registered under <paramref name="key"/>.</summary>
    public static string NameOf(object? key) => key is null ? Options.DefaultName : key as string ?? key.ToString() ?? "";

    /// <summary>
    /// Registers a cache under <paramref name="key"/> (null: the unkeyed one): its options, validated on start (Redis
    /// connection included), its connection, circuit breaker and <see cref="ICacheFlow"/>. A keyed cache's key prefix
    /// defaults to <c>cf:{name}:</c>, so caches sharing one Redis do not share keys.
    /// </summary>
    public static ICacheFlowBuilder Add(IServiceCollection services, object? key, Action<OptionsBuilder<CacheFlowOptions>> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.Any(d => d.ServiceType == typeof(CacheFlowRegistration) && Equals(d.ServiceKey, key)))
        {
            throw new InvalidOperationException(key is null
                ? "AddCacheFlow was already called: a second call would change the options of the same cache. Change them with services.Configure<CacheFlowOptions>(...), or register another cache with AddKeyedCacheFlow."
                : $"A CacheFlow cache with the key '{key}' is already registered: give the other cache another key.");
        }

        var registration = new CacheFlowRegistration(key);
        var options = services.AddOptions<CacheFlowOptions>(registration.Name).ValidateOnStart();
        if (key is not null)
        {
            options.Configure(o =>
            {
                o.KeyPrefix = $"cf:{registration.Name}:";
                o.Name = registration.Name;
            });
        }

        configure(options);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CacheFlowOptions>, CacheFlowOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CacheFlowOptions>, RedisConnectionCheck>());
        services.TryAddSingleton(TimeProvider.System);
        if (key is null)
        {
            services.AddSingleton(registration);
            // One guard per connection: the cache and whatever else shares Redis (write-behind, counters) see one circuit.
            services.TryAddSingleton<RedisGuard>();
            services.TryAddSingleton(sp => CacheFlowConnection.Open(sp.GetRequiredService<IOptions<CacheFlowOptions>>().Value, sp, key));
            services.TryAddSingleton<ICacheFlow>(sp => NewCache(sp, registration));
        }
        else
        {
            services.AddKeyedSingleton(key, registration);
            services.AddKeyedSingleton(key, (sp, _) => new RedisGuard(registration.OptionsIn(sp), sp.GetRequiredService<TimeProvider>()));
            services.AddKeyedSingleton(key, (sp, _) => CacheFlowConnection.Open(registration.OptionsIn(sp).Value, sp, key));
            services.AddKeyedSingleton<ICacheFlow>(key, (sp, _) => NewCache(sp, registration));
        }

        return new CacheFlowBuilder(services, key);
    }

    /// <summary>The options of this cache, validated (a cache without a Redis connection fails here).</summary>
    public IOptions<CacheFlowOptions> OptionsIn(IServiceProvider services) => Key is null
        ? services.GetRequiredService<IOptions<CacheFlowOptions>>()
        : Options.Create(services.GetRequiredService<IOptionsMonitor<CacheFlowOptions>>().Get(Name));

    /// <summary>The cache of the registration under <paramref name="key"/>.</summary>
    public static CacheFlowCache CacheIn(IServiceProvider services, object? key) =>
        (key is null ? services.GetRequiredService<ICacheFlow>() : services.GetRequiredKeyedService<ICacheFlow>(key)) as CacheFlowCache
        ?? throw new InvalidOperationException($"The {nameof(ICacheFlow)} registered is not CacheFlow's own {nameof(CacheFlowCache)}.");

    /// <summary>The registrations in <paramref name="services"/>: the unkeyed one and every keyed one.</summary>
    public static IEnumerable<CacheFlowRegistration> AllIn(IServiceProvider services) =>
        services.GetServices<CacheFlowRegistration>().Concat(services.GetKeyedServices<CacheFlowRegistration>(KeyedService.AnyKey));

    private static CacheFlowCache NewCache(IServiceProvider services, CacheFlowRegistration registration)
    {
        var options = registration.OptionsIn(services);
        var (connection, guard) = registration.Key is { } key
            ? (services.GetRequiredKeyedService<CacheFlowConnection>(key), services.GetRequiredKeyedService<RedisGuard>(key))
            : (services.GetRequiredService<CacheFlowConnection>(), services.GetRequiredService<RedisGuard>());
        // Logging and metrics are optional: a container without them still resolves the cache, as Microsoft's caches do.
        return new CacheFlowCache(connection.Redis, options, services.GetRequiredService<TimeProvider>(),
            services.GetService<ILogger<CacheFlowCache>>() ?? NullLogger<CacheFlowCache>.Instance, services.GetService<IMeterFactory>(), guard);
    }
}
