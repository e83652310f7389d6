using Microsoft.Extensions.DependencyInjection;

namespace CacheFlow;

/// <summary>What <c>AddCacheFlow</c> returns: the services it registered into, for further CacheFlow registrations.</summary>
public interface ICacheFlowBuilder
{
    /// <summary>The service collection CacheFlow is registered in.</summary>
    IServiceCollection Services { get; }
}

/// <summary>The default <see cref="ICacheFlowBuilder"/>.</summary>
internal sealed class CacheFlowBuilder(IServiceCollection services) : ICacheFlowBuilder
{
    public IServiceCollection Services { get; } = services;
}
