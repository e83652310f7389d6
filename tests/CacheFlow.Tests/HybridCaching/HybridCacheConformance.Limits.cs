namespace CacheFlow.Tests.HybridCaching;

/// <summary>
/// HybridCacheOptions' limits (MaximumKeyLength, 1024 characters by default; MaximumPayloadBytes, 1 MiB by default):
/// going past them is logged and the value is not cached, but the caller still gets the factory's value.
/// </summary>
public abstract partial class HybridCacheConformance
{
    [Fact]
    public async Task AKeyLongerThanTheMaximumStillReturnsTheFactoryValueButIsNotCached()
    {
        var cache = NewInstance();
        var key = Key() + ":" + new string('k', 2048);
        var factory = new CountingFactory<Frozen>(n => new Frozen(n, "loaded"));

        var first = await Bounded(cache.GetOrCreateAsync(key, factory.CreateAsync));
        var second = await Bounded(cache.GetOrCreateAsync(key, factory.CreateAsync));

        Assert.Equal((new Frozen(1, "loaded"), new Frozen(2, "loaded")), (first, second));
    }

    [Fact]
    public async Task APayloadLargerThanTheMaximumStillReturnsTheFactoryValueButIsNotCached()
    {
        var cache = NewInstance();
        var payload = new byte[2 * 1024 * 1024];
        Random.Shared.NextBytes(payload);
        var factory = new CountingFactory<Mutable>(n => new Mutable { Id = n, Payload = payload });

        var first = await Bounded(cache.GetOrCreateAsync(Key(), factory.CreateAsync));
        var second = await Bounded(cache.GetOrCreateAsync(Key(), factory.CreateAsync));
        var elsewhere = await Bounded(NewInstance().GetOrCreateAsync<Mutable?>(Key(), _ => default, CacheOnly));

        Assert.Equal((1, payload.Length), (first.Id, first.Payload.Length));
        Assert.Null(elsewhere);
        if (KnownDeviations.HasFlag(HybridCacheDeviations.KeepsOversizedPayloadsInL1))
            Assert.Equal(payload.Length, second.Payload.Length);
        else
            Assert.Equal((2, payload.Length), (second.Id, second.Payload.Length));
    }
}
