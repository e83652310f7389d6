using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CacheFlow.Registration;

/// <summary>
/// Validates on start that each registered cache has a Redis connection: a configuration string, or an
/// <see cref="IConnectionMultiplexer"/> in the container. Without this, a forgotten registration is a DI error at
/// the first request that reads the cache.
/// </summary>
internal sealed class RedisConnectionCheck(IServiceProvider services) : IValidateOptions<CacheFlowOptions>
{
    public ValidateOptionsResult Validate(string? name, CacheFlowOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.Configuration))
            return ValidateOptionsResult.Success;
        name ??= Options.DefaultName;
        if (CacheFlowRegistration.AllIn(services).FirstOrDefault(r => r.Name == name) is not { } registration)
            return ValidateOptionsResult.Skip;
        var registered = services.GetService<IServiceProviderIsService>() is { } isService && isService.IsService(typeof(IConnectionMultiplexer))
            || (registration.Key is { } key && services.GetService<IServiceProviderIsKeyedService>() is { } isKeyed && isKeyed.IsKeyedService(typeof(IConnectionMultiplexer), key));
        return registered ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(Missing(registration.Key));
    }

    /// <summary>What to do about a cache without a Redis connection.</summary>
    public static string Missing(object? key) => key is null
        ? "CacheFlow has no Redis connection: pass a configuration string (AddCacheFlow(\"localhost:6379\")), set Configuration in the section " +
          "AddCacheFlow binds, or register an IConnectionMultiplexer."
        : $"The CacheFlow cache '{key}' has no Redis connection: pass a configuration string (AddKeyedCacheFlow(key, \"localhost:6379\")), set " +
          "Configuration in the section it binds, or register an IConnectionMultiplexer (with the same key, or without one).";
}
