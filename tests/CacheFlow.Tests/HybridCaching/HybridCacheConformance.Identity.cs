namespace CacheFlow.Tests.HybridCaching;

/// <summary>Object identity: immutable values are shared from the L1, mutable ones are handed out as copies.</summary>
public abstract partial class HybridCacheConformance
{
    [Fact]
    public async Task ASealedImmutableObjectIsTheSameInstanceOnL1Hits()
    {
        var cache = NewInstance();
        await Bounded(cache.GetOrCreateAsync(Key(), _ => ValueTask.FromResult(new Frozen(1, "frozen"))));

        var first = await Bounded(cache.GetOrCreateAsync(Key(), _ => ValueTask.FromResult(new Frozen(2, "factory"))));
        var second = await Bounded(cache.GetOrCreateAsync(Key(), _ => ValueTask.FromResult(new Frozen(2, "factory"))));

        Assert.Equal(new Frozen(1, "frozen"), first);
        Assert.Same(first, second);
    }

    [Fact]
    public async Task AStringIsTheSameInstanceOnL1Hits()
    {
        var cache = NewInstance();
        // Built at run time, so no interning can make two copies look like one.
        await Bounded(cache.GetOrCreateAsync(Key(), _ => ValueTask.FromResult(string.Concat("str", "ing ", Key()))));

        var first = await Bounded(cache.GetOrCreateAsync(Key(), _ => ValueTask.FromResult("factory")));
        var second = await Bounded(cache.GetOrCreateAsync(Key(), _ => ValueTask.FromResult("factory")));

        Assert.Equal("string " + Key(), first);
        Assert.Same(first, second);
    }

    [Fact]
    public async Task AMutableObjectIsADifferentInstanceOnEveryRead()
    {
        var cache = NewInstance();
        var loaded = await Bounded(cache.GetOrCreateAsync(Key(), _ => ValueTask.FromResult(new Mutable { Id = 1, Name = "mutable" })));

        var first = await Bounded(cache.GetOrCreateAsync(Key(), _ => ValueTask.FromResult(new Mutable())));
        var second = await Bounded(cache.GetOrCreateAsync(Key(), _ => ValueTask.FromResult(new Mutable())));

        Assert.Equal((1, "mutable"), (first.Id, first.Name));
        Assert.NotSame(loaded, first);
        Assert.NotSame(first, second);
    }

    [Fact]
    public async Task MutatingAReturnedObjectDoesNotChangeWhatTheNextReadReturns()
    {
        var cache = NewInstance();
        var loaded = await Bounded(cache.GetOrCreateAsync(Key(), _ => ValueTask.FromResult(new Mutable { Id = 1, Name = "original" })));
        loaded.Name = "changed by the loader's caller";

        var read = await Bounded(cache.GetOrCreateAsync(Key(), _ => ValueTask.FromResult(new Mutable())));
        read.Name = "changed by a reader";
        var next = await Bounded(cache.GetOrCreateAsync(Key(), _ => ValueTask.FromResult(new Mutable())));

        Assert.Equal("original", next.Name);
    }

    [Fact]
    public async Task MutatingAnObjectAfterSettingItDoesNotChangeWhatTheNextReadReturns()
    {
        var cache = NewInstance();
        var value = new Mutable { Id = 1, Name = "original" };
        await Bounded(cache.SetAsync(Key(), value));
        value.Name = "changed after the set";

        var next = await Bounded(cache.GetOrCreateAsync(Key(), _ => ValueTask.FromResult(new Mutable())));

        Assert.Equal("original", next.Name);
    }
}
