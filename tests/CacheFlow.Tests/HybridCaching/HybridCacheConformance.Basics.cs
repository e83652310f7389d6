using Microsoft.Extensions.Caching.Hybrid;

namespace CacheFlow.Tests.HybridCaching;

/// <summary>GetOrCreateAsync, SetAsync and RemoveAsync.</summary>
public abstract partial class HybridCacheConformance
{
    [Fact]
    public async Task GetOrCreateCallsTheFactoryOnceThenServesTheCachedValue()
    {
        var cache = NewInstance();
        var factory = new CountingFactory<Mutable>(n => new Mutable { Id = n, Name = "loaded" });

        var first = await Bounded(cache.GetOrCreateAsync(Key(), factory.CreateAsync));
        var second = await Bounded(cache.GetOrCreateAsync(Key(), factory.CreateAsync));

        Assert.Equal((1, "loaded"), (first.Id, first.Name));
        Assert.Equal((1, "loaded"), (second.Id, second.Name));
        Assert.Equal(1, factory.Calls);
    }

    [Fact]
    public async Task GetOrCreateWithStatePassesTheStateToTheFactory()
    {
        var cache = NewInstance();
        var calls = 0;

        var first = await Bounded(cache.GetOrCreateAsync(Key(), (Id: 7, Name: "state"), (state, _) =>
        {
            calls++;
            return ValueTask.FromResult(new Frozen(state.Id, state.Name));
        }));
        var second = await Bounded(cache.GetOrCreateAsync(Key(), (Id: 8, Name: "other state"), (state, _) =>
        {
            calls++;
            return ValueTask.FromResult(new Frozen(state.Id, state.Name));
        }));

        Assert.Equal(new Frozen(7, "state"), first);
        Assert.Equal(new Frozen(7, "state"), second);
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task AnotherInstanceReadsTheValueFromTheSharedL2WithoutCallingItsFactory()
    {
        var writer = NewInstance();
        var reader = NewInstance();
        var factory = new CountingFactory<Frozen>(n => new Frozen(n, "reader's factory"));

        await Bounded(writer.GetOrCreateAsync(Key(), _ => ValueTask.FromResult(new Frozen(1, "writer's factory"))));
        await InL2Async<Frozen>(Key());
        var read = await Bounded(reader.GetOrCreateAsync(Key(), factory.CreateAsync));

        Assert.Equal(new Frozen(1, "writer's factory"), read);
        Assert.Equal(0, factory.Calls);
    }

    [Fact]
    public async Task SetValueIsReturnedWithoutCallingTheFactoryHereAndOnAnotherInstance()
    {
        var writer = NewInstance();
        var reader = NewInstance();
        var factory = new CountingFactory<Frozen>(n => new Frozen(n, "factory"));

        await Bounded(writer.SetAsync(Key(), new Frozen(1, "set")));

        Assert.Equal(new Frozen(1, "set"), await Bounded(writer.GetOrCreateAsync(Key(), factory.CreateAsync)));
        Assert.Equal(new Frozen(1, "set"), await Bounded(reader.GetOrCreateAsync(Key(), factory.CreateAsync)));
        Assert.Equal(0, factory.Calls);
    }

    [Fact]
    public async Task SetOverwritesAnExistingValue()
    {
        var cache = NewInstance();
        await Bounded(cache.GetOrCreateAsync(Key(), _ => ValueTask.FromResult(new Frozen(1, "old"))));
        await InL2Async<Frozen>(Key());

        await Bounded(cache.SetAsync(Key(), new Frozen(2, "new")));

        Assert.Equal(new Frozen(2, "new"), await Bounded(cache.GetOrCreateAsync(Key(), _ => ValueTask.FromResult(new Frozen(3, "factory")))));
        Assert.Equal(new Frozen(2, "new"), await Bounded(NewInstance().GetOrCreateAsync(Key(), _ => ValueTask.FromResult(new Frozen(3, "factory")))));
    }

    [Fact]
    public async Task RemoveOfOneKeyRemovesItFromBothLevels()
    {
        var cache = NewInstance();
        await Bounded(cache.SetAsync(Key(), new Frozen(1, "cached")));
        await Bounded(cache.SetAsync(Key() + ":kept", new Frozen(2, "kept")));

        await Bounded(cache.RemoveAsync(Key()));

        Assert.Equal(default, await Bounded(cache.GetOrCreateAsync<Frozen?>(Key(), _ => default, CacheOnly)));
        Assert.Equal(default, await Bounded(NewInstance().GetOrCreateAsync<Frozen?>(Key(), _ => default, CacheOnly)));
        Assert.Equal(new Frozen(2, "kept"), await Bounded(cache.GetOrCreateAsync<Frozen?>(Key() + ":kept", _ => default, CacheOnly)));
    }

    [Fact]
    public async Task RemoveOfManyKeysRemovesEachFromBothLevels()
    {
        var cache = NewInstance();
        string[] removed = [Key() + ":1", Key() + ":2", Key() + ":3"];
        foreach (var key in removed)
            await Bounded(cache.SetAsync(key, new Frozen(1, key)));
        await Bounded(cache.SetAsync(Key() + ":kept", new Frozen(4, "kept")));

        await Bounded(cache.RemoveAsync(removed));

        var fresh = NewInstance();
        foreach (var key in removed)
        {
            Assert.Equal(default, await Bounded(cache.GetOrCreateAsync<Frozen?>(key, _ => default, CacheOnly)));
            Assert.Equal(default, await Bounded(fresh.GetOrCreateAsync<Frozen?>(key, _ => default, CacheOnly)));
        }

        Assert.Equal(new Frozen(4, "kept"), await Bounded(fresh.GetOrCreateAsync<Frozen?>(Key() + ":kept", _ => default, CacheOnly)));
    }

    [Fact]
    public async Task RemoveOfANullKeyListOrTagListDoesNothing()
    {
        var cache = NewInstance();
        await Bounded(cache.SetAsync(Key(), new Frozen(1, "kept"), tags: ["red"]));

        await Bounded(cache.RemoveAsync((IEnumerable<string>)null!));
        await Bounded(cache.RemoveByTagAsync((IEnumerable<string>)null!));

        Assert.Equal(new Frozen(1, "kept"), await Bounded(cache.GetOrCreateAsync<Frozen?>(Key(), _ => default, CacheOnly)));
    }

    [Fact]
    public async Task AfterARemovalTheNextReadCallsTheFactory()
    {
        var cache = NewInstance();
        var factory = new CountingFactory<Frozen>(n => new Frozen(n, "loaded"));
        await Bounded(cache.GetOrCreateAsync(Key(), factory.CreateAsync));
        await InL2Async<Frozen>(Key());

        await Bounded(cache.RemoveAsync(Key()));

        Assert.Equal(new Frozen(2, "loaded"), await Bounded(cache.GetOrCreateAsync(Key(), factory.CreateAsync)));
        Assert.Equal(2, factory.Calls);
    }
}
