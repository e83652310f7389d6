using CacheFlow;
using CacheFlow.Registration;
using Microsoft.Extensions.Configuration;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers CacheFlow in a service collection: one unkeyed cache (<see cref="ICacheFlow"/>) and any number of keyed
/// ones, each with its own options, key prefix, connection and circuit breaker. Every cache's options are validated
/// when the host starts, including that it has a Redis connection.
/// </summary>
public static class CacheFlowServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="ICacheFlow"/> over the Redis that <see cref="CacheFlowOptions.Configuration"/> names, or else the
    /// <see cref="StackExchange.Redis.IConnectionMultiplexer"/> registered in <paramref name="services"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures <see cref="CacheFlowOptions"/>.</param>
    /// <returns>A builder for further CacheFlow registrations, such as <c>AsHybridCache()</c>.</returns>
    /// <exception cref="InvalidOperationException">The unkeyed cache is registered already.</exception>
    public static ICacheFlowBuilder AddCacheFlow(this IServiceCollection services, Action<CacheFlowOptions>? configure = null) =>
        CacheFlowRegistration.Add(services, key: null, options => Configure(options, configure));

    /// <summary>Adds <see cref="ICacheFlow"/> on a connection of its own to the Redis that <paramref name="configuration"/> names.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">A StackExchange.Redis configuration string, such as <c>localhost:6379,password=…</c>.</param>
    /// <param name="configure">Configures <see cref="CacheFlowOptions"/> further.</param>
    /// <returns>A builder for further CacheFlow registrations.</returns>
    /// <exception cref="InvalidOperationException">The unkeyed cache is registered already.</exception>
    public static ICacheFlowBuilder AddCacheFlow(this IServiceCollection services, string configuration, Action<CacheFlowOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(configuration);
        return CacheFlowRegistration.Add(services, key: null, options => Configure(options.Configure(o => o.Configuration = configuration), configure));
    }

    /// <summary>
    /// Adds <see cref="ICacheFlow"/> with its options bound from <paramref name="section"/>, keys named as the
    /// <see cref="CacheFlowOptions"/> properties (<c>Configuration</c> for the Redis, <c>KeyPrefix</c>, <c>DefaultDuration</c>, …).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="section">The configuration section, such as <c>builder.Configuration.GetSection("CacheFlow")</c>.</param>
    /// <param name="configure">Configures <see cref="CacheFlowOptions"/> after the binding.</param>
    /// <returns>A builder for further CacheFlow registrations.</returns>
    /// <exception cref="InvalidOperationException">The unkeyed cache is registered already.</exception>
    public static ICacheFlowBuilder AddCacheFlow(this IServiceCollection services, IConfiguration section, Action<CacheFlowOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(section);
        return CacheFlowRegistration.Add(services, key: null, options => Configure(options.Configure(o => CacheFlowSettings.Bind(section, o)), configure));
    }

    /// <summary>
    /// Adds a keyed <see cref="ICacheFlow"/> (resolve it with <c>[FromKeyedServices(key)]</c>), with options of its own
    /// (named by the key) and a key prefix of its own (<c>cf:{key}:</c> unless set), over the Redis that
    /// <see cref="CacheFlowOptions.Configuration"/> names, or else the <see cref="StackExchange.Redis.IConnectionMultiplexer"/>
    /// registered with the same key, or else the one registered without a key.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="serviceKey">The cache's service key.</param>
    /// <param name="configure">Configures the cache's <see cref="CacheFlowOptions"/>.</param>
    /// <returns>A builder for further registrations of this cache, such as <c>AsHybridCache()</c> for a keyed HybridCache.</returns>
    /// <exception cref="InvalidOperationException">A cache with this key is registered already.</exception>
    public static ICacheFlowBuilder AddKeyedCacheFlow(this IServiceCollection services, object serviceKey, Action<CacheFlowOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(serviceKey);
        return CacheFlowRegistration.Add(services, serviceKey, options => Configure(options, configure));
    }

    /// <summary>Adds a keyed <see cref="ICacheFlow"/> on a connection of its own to the Redis that <paramref name="configuration"/> names.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="serviceKey">The cache's service key.</param>
    /// <param name="configuration">A StackExchange.Redis configuration string, such as <c>localhost:6379,password=…</c>.</param>
    /// <param name="configure">Configures the cache's <see cref="CacheFlowOptions"/> further.</param>
    /// <returns>A builder for further registrations of this cache.</returns>
    /// <exception cref="InvalidOperationException">A cache with this key is registered already.</exception>
    public static ICacheFlowBuilder AddKeyedCacheFlow(this IServiceCollection services, object serviceKey, string configuration, Action<CacheFlowOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(serviceKey);
        ArgumentException.ThrowIfNullOrWhiteSpace(configuration);
        return CacheFlowRegistration.Add(services, serviceKey, options => Configure(options.Configure(o => o.Configuration = configuration), configure));
    }

    /// <summary>Adds a keyed <see cref="ICacheFlow"/> with its options bound from <paramref name="section"/>.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="serviceKey">The cache's service key.</param>
    /// <param name="section">The configuration section, such as <c>builder.Configuration.GetSection("Caches:Orders")</c>.</param>
    /// <param name="configure">Configures the cache's <see cref="CacheFlowOptions"/> after the binding.</param>
    /// <returns>A builder for further registrations of this cache.</returns>
    /// <exception cref="InvalidOperationException">A cache with this key is registered already.</exception>
    public static ICacheFlowBuilder AddKeyedCacheFlow(this IServiceCollection services, object serviceKey, IConfiguration section, Action<CacheFlowOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(serviceKey);
        ArgumentNullException.ThrowIfNull(section);
        return CacheFlowRegistration.Add(services, serviceKey, options => Configure(options.Configure(o => CacheFlowSettings.Bind(section, o)), configure));
    }

    private static void Configure(Options.OptionsBuilder<CacheFlowOptions> options, Action<CacheFlowOptions>? configure)
    {
        if (configure is not null)
            options.Configure(configure);
    }
}
