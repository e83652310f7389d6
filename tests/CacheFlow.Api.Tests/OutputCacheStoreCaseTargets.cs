using CacheFlow.Tests;
using Microsoft.Extensions.DependencyInjection;

namespace CacheFlow.Api.Tests;

/// <summary>The control: ASP.NET Core's in-memory store, as <c>AddOutputCache()</c> registers it.</summary>
public sealed class MicrosoftMemoryOutputCacheStoreCases : OutputCacheStoreCases
{
    protected override IServiceCollection AddStore(IServiceCollection services)
    {
        // AddOutputCache relies on the options services a host registers; a bare container needs them added.
        services.AddOptions();
        return services.AddOutputCache();
    }
}

/// <summary>The control: ASP.NET Core's Redis store (<c>AddStackExchangeRedisOutputCache</c>) on a throwaway redis-server.</summary>
public sealed class MicrosoftRedisOutputCacheStoreCases(RealRedisBackend backend) : OutputCacheBufferStoreCases, IClassFixture<RealRedisBackend>
{
    protected override bool ChecksKeys => false;

    protected override IServiceCollection AddStore(IServiceCollection services)
    {
        // A connection of its own from the same configuration: the store closes its connection when it is disposed.
        var configuration = backend.Redis.Configuration;
        return services.AddStackExchangeRedisOutputCache(options =>
        {
            options.Configuration = configuration;
            options.InstanceName = "ms-output-cache:";
        });
    }
}

/// <summary>CacheFlow's store (<c>AddCacheFlowOutputCacheStore</c>) over <c>AddCacheFlow</c>, on a Redis-protocol server.</summary>
public abstract class CacheFlowOutputCacheStoreCases(IRedisBackend backend) : OutputCacheBufferStoreCases
{
    protected override IServiceCollection AddStore(IServiceCollection services)
    {
        services.AddSingleton(backend.Redis);
        // Generous: the suites share two cores, and a slow read would be a miss here.
        services.AddCacheFlow(options => (options.KeyPrefix, options.RedisTimeout) = ("oc-cases:", TimeSpan.FromSeconds(10)));
        return services.AddCacheFlowOutputCacheStore();
    }
}

public sealed class CacheFlowOutputCacheStoreCasesOnGarnet(GarnetBackend backend) : CacheFlowOutputCacheStoreCases(backend), IClassFixture<GarnetBackend>;

public sealed class CacheFlowOutputCacheStoreCasesOnRedis(RealRedisBackend backend) : CacheFlowOutputCacheStoreCases(backend), IClassFixture<RealRedisBackend>;
