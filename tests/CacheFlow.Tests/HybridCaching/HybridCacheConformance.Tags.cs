using Microsoft.Extensions.Caching.Hybrid;

namespace CacheFlow.Tests.HybridCaching;

/// <summary>RemoveByTagAsync: one tag, many tags, and "*" for everything; tags given at GetOrCreate and at Set.</summary>
public abstract partial class HybridCacheConformance
{
    /// <summary>
    /// Whether <paramref name="key"/> is gone for <paramref name="cache"/> and for a new instance (a fresh L1 over the
    /// L2). A target known to serve tag-invalidated entries from the L2 is only checked on the instance that removed them.
    /// </summary>
    private async Task<(bool Here, bool Fresh)> GoneAsync(HybridCache cache, string key, bool expected)
    {
        var here = await Bounded(cache.GetOrCreateAsync<Frozen?>(key, _ => default, CacheOnly)) is null;
        if (expected && KnownDeviations.HasFlag(HybridCacheDeviations.ServesTagInvalidatedEntriesFromL2))
            return (here, true);
        return (here, await Bounded(NewInstance().GetOrCreateAsync<Frozen?>(key, _ => default, CacheOnly)) is null);
    }

    [Fact]
    public async Task RemoveByTagRemovesEntriesTaggedAtGetOrCreate()
    {
        var cache = NewInstance();
        await Bounded(cache.GetOrCreateAsync(Key() + ":a", _ => ValueTask.FromResult(new Frozen(1, "a")), tags: ["red"]));
        await Bounded(cache.GetOrCreateAsync(Key() + ":b", _ => ValueTask.FromResult(new Frozen(2, "b")), tags: ["red", "blue"]));
        await Bounded(cache.GetOrCreateAsync(Key() + ":c", _ => ValueTask.FromResult(new Frozen(3, "c")), tags: ["blue"]));
        foreach (var suffix in new[] { ":a", ":b", ":c" })
            await InL2Async<Frozen>(Key() + suffix);

        await Bounded(cache.RemoveByTagAsync("red"));

        Assert.Equal((true, true), await GoneAsync(cache, Key() + ":a", expected: true));
        Assert.Equal((true, true), await GoneAsync(cache, Key() + ":b", expected: true));
        Assert.Equal((false, false), await GoneAsync(cache, Key() + ":c", expected: false));
    }

    [Fact]
    public async Task RemoveByTagRemovesEntriesTaggedAtSet()
    {
        var cache = NewInstance();
        await Bounded(cache.SetAsync(Key() + ":a", new Frozen(1, "a"), tags: ["red"]));
        await Bounded(cache.SetAsync(Key() + ":c", new Frozen(3, "c"), tags: ["blue"]));

        await Bounded(cache.RemoveByTagAsync("red"));

        Assert.Equal((true, true), await GoneAsync(cache, Key() + ":a", expected: true));
        Assert.Equal((false, false), await GoneAsync(cache, Key() + ":c", expected: false));
    }

    [Fact]
    public async Task RemoveByTagsRemovesEntriesOfEveryTagGiven()
    {
        var cache = NewInstance();
        await Bounded(cache.SetAsync(Key() + ":a", new Frozen(1, "a"), tags: ["red"]));
        await Bounded(cache.GetOrCreateAsync(Key() + ":b", _ => ValueTask.FromResult(new Frozen(2, "b")), tags: ["blue"]));
        await Bounded(cache.SetAsync(Key() + ":c", new Frozen(3, "c"), tags: ["green"]));
        await InL2Async<Frozen>(Key() + ":b");

        await Bounded(cache.RemoveByTagAsync(["red", "blue"]));

        Assert.Equal((true, true), await GoneAsync(cache, Key() + ":a", expected: true));
        Assert.Equal((true, true), await GoneAsync(cache, Key() + ":b", expected: true));
        Assert.Equal((false, false), await GoneAsync(cache, Key() + ":c", expected: false));
    }

    [Fact]
    public async Task RemoveByTheWildcardTagRemovesEveryEntryTaggedOrNot()
    {
        var cache = NewInstance();
        await Bounded(cache.SetAsync(Key() + ":tagged", new Frozen(1, "a"), tags: ["red"]));
        await Bounded(cache.SetAsync(Key() + ":untagged", new Frozen(2, "b")));
        await Bounded(cache.GetOrCreateAsync(Key() + ":loaded", _ => ValueTask.FromResult(new Frozen(3, "c"))));
        await InL2Async<Frozen>(Key() + ":loaded");

        await Bounded(cache.RemoveByTagAsync("*"));

        Assert.Equal((true, true), await GoneAsync(cache, Key() + ":tagged", expected: true));
        Assert.Equal((true, true), await GoneAsync(cache, Key() + ":untagged", expected: true));
        Assert.Equal((true, true), await GoneAsync(cache, Key() + ":loaded", expected: true));
    }

    [Fact]
    public async Task AnEntryWrittenAfterARemoveByTagIsServed()
    {
        var cache = NewInstance();
        await Bounded(cache.SetAsync(Key(), new Frozen(1, "before"), tags: ["red"]));
        await Bounded(cache.RemoveByTagAsync("red"));

        await Bounded(cache.SetAsync(Key(), new Frozen(2, "after"), tags: ["red"]));

        Assert.Equal(new Frozen(2, "after"), await Bounded(cache.GetOrCreateAsync<Frozen?>(Key(), _ => default, CacheOnly)));
        Assert.Equal(new Frozen(2, "after"), await Bounded(NewInstance().GetOrCreateAsync<Frozen?>(Key(), _ => default, CacheOnly)));
    }
}
