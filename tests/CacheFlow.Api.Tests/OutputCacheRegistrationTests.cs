using CacheFlow.AspNetCore;
using CacheFlow.Tests;
using Microsoft.AspNetCore.OutputCaching;
using Microsoft.Extensions.DependencyInjection;

namespace CacheFlow.Api.Tests;

/// <summary><c>AddCacheFlowOutputCacheStore</c> replaces output caching's in-memory store whatever the order of the calls.</summary>
public sealed class OutputCacheRegistrationTests(GarnetBackend backend) : IClassFixture<GarnetBackend>
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TheStoreIsCacheFlowsWhetherAddOutputCacheComesBeforeOrAfter(bool outputCacheFirst)
    {
        var services = Services();
        if (outputCacheFirst)
            services.AddOutputCache().AddCacheFlowOutputCacheStore();
        else
            services.AddCacheFlowOutputCacheStore().AddOutputCache();
        using var provider = services.BuildServiceProvider();

        Assert.IsType<CacheFlowOutputCacheStore>(provider.GetRequiredService<IOutputCacheStore>());
    }

    [Fact]
    public void ControlWithoutItOutputCachingKeepsResponsesInMemory()
    {
        using var provider = Services().AddOutputCache().BuildServiceProvider();

        Assert.IsNotType<CacheFlowOutputCacheStore>(provider.GetRequiredService<IOutputCacheStore>());
    }

    private ServiceCollection Services()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(backend.Redis);
        services.AddCacheFlow();
        return services;
    }
}
