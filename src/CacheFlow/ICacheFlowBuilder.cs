using Microsoft.Extensions.DependencyInjection;

namespace CacheFlow;

/// <summary>What <c>AddCacheFlow</c> and <c>AddKeyedCacheFlow</c> return: where the cache was registered, for further CacheFlow registrations.</summary>
public interface ICacheFlowBuilder
{
    /// <summary>The service collection CacheFlow is registered in.</summary>
    IServiceCollection Services { get; }

    /// <summary>The cache's service key (<c>AddKeyedCacheFlow</c>), or <see langword="null"/> for the unkeyed cache (<c>AddCacheFlow</c>).</summary>
    object? ServiceKey { get; }
}

/// <summary>The default <see cref="ICacheFlowBuilder"/>.</summary>
internal sealed class CacheFlowBuilder(IServiceCollection services, object? serviceKey) : ICacheFlowBuilder
{
    public IServiceCollection Services { get; } = services;

    public object? ServiceKey { get; } = serviceKey;
}
