using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace CacheFlow.Registration;

/// <summary>
/// The Redis connection of one registered cache: its own, made from <see cref="CacheFlowOptions.Configuration"/> and
/// closed with the container, or the application's <see cref="IConnectionMultiplexer"/>, which it leaves open.
/// </summary>
internal sealed class CacheFlowConnection : IDisposable
{
    private readonly bool _owned;

    private CacheFlowConnection(IConnectionMultiplexer redis, bool owned)
    {
        Redis = redis;
        _owned = owned;
    }

    public IConnectionMultiplexer Redis { get; }

    /// <summary>Connects with the options' configuration string, or takes the multiplexer registered (keyed with <paramref name="key"/> first).</summary>
    public static CacheFlowConnection Open(CacheFlowOptions options, IServiceProvider services, object? key)
    {
        if (!string.IsNullOrWhiteSpace(options.Configuration))
        {
            var configuration = ConfigurationOptions.Parse(options.Configuration);
            // A cache starts without Redis and reconnects by itself; while Redis is down its calls fail at once
            // (the guard's bypass) instead of queuing until their timeout.
            configuration.AbortOnConnectFail = false;
            configuration.BacklogPolicy = BacklogPolicy.FailFast;
            return new CacheFlowConnection(ConnectionMultiplexer.Connect(configuration), owned: true);
        }

        var registered = (key is null ? null : services.GetKeyedService<IConnectionMultiplexer>(key)) ?? services.GetService<IConnectionMultiplexer>();
        // RedisConnectionCheck refuses such options on start: reached only by a container built without a host.
        return registered is null
            ? throw new InvalidOperationException(RedisConnectionCheck.Missing(key))
            : new CacheFlowConnection(registered, owned: false);
    }

    public void Dispose()
    {
        if (_owned)
            Redis.Dispose();
    }
}
