using Microsoft.Extensions.Caching.Hybrid;

namespace CacheFlow.Tests.HybridCaching;

/// <summary>Every HybridCacheEntryFlags value, made observable through the API.</summary>
public abstract partial class HybridCacheConformance
{
    private static HybridCacheEntryOptions With(HybridCacheEntryFlags flags) => new() { Flags = flags };

    private static ValueTask<Frozen> Load(int id, string name) => ValueTask.FromResult(new Frozen(id, name));

    [Fact]
    public async Task NoFlagsSharesTheImmutableInstanceFromTheL1()
    {
        var cache = NewInstance();
        var first = await Bounded(cache.GetOrCreateAsync(Key(), _ => Load(1, "v1"), With(HybridCacheEntryFlags.None)));

        var second = await Bounded(cache.GetOrCreateAsync(Key(), _ => Load(2, "factory"), With(HybridCacheEntryFlags.None)));

        Assert.Same(first, second);
    }

    [Fact]
    public async Task DisableLocalCacheReadReadsTheL2InsteadOfTheL1()
    {
        var cache = NewInstance();
        var factory = new CountingFactory<Frozen>(n => new Frozen(n, "factory"));
        var first = await Bounded(cache.GetOrCreateAsync(Key(), _ => Load(1, "v1")));
        await InL2Async<Frozen>(Key());

        var second = await Bounded(cache.GetOrCreateAsync(Key(), factory.CreateAsync, With(HybridCacheEntryFlags.DisableLocalCacheRead)));

        Assert.Equal(first, second);
        Assert.NotSame(first, second);
        Assert.Equal(0, factory.Calls);
    }

    [Fact]
    public async Task DisableLocalCacheWriteLeavesTheValueOutOfTheL1()
    {
        var cache = NewInstance();
        var first = await Bounded(cache.GetOrCreateAsync(Key(), _ => Load(1, "v1"), With(HybridCacheEntryFlags.DisableLocalCacheWrite)));
        await InL2Async<Frozen>(Key());

        var second = await Bounded(cache.GetOrCreateAsync(Key(), _ => Load(2, "factory")));

        Assert.Equal(first, second);
        Assert.NotSame(first, second);
    }

    [Fact]
    public async Task DisableLocalCacheNeverSharesAnInstance()
    {
        var cache = NewInstance();
        var options = With(HybridCacheEntryFlags.DisableLocalCache);
        var first = await Bounded(cache.GetOrCreateAsync(Key(), _ => Load(1, "v1"), options));
        await InL2Async<Frozen>(Key());

        var second = await Bounded(cache.GetOrCreateAsync(Key(), _ => Load(2, "factory"), options));
        var third = await Bounded(cache.GetOrCreateAsync(Key(), _ => Load(3, "factory"), options));

        Assert.Equal((first, first), (second, third));
        Assert.NotSame(first, second);
        Assert.NotSame(second, third);
    }

    /// <summary>
    /// As <see cref="DisableLocalCacheNeverSharesAnInstance"/>, with a caller that goes on at once from the load it was
    /// given: its awaits capture a synchronization context that runs what is posted to it inline, so its next read runs
    /// as the first completes. Immutable values loaded by callers that cannot cancel share one load; a finished load
    /// must not be handed to a read that starts after it (it was, when the load left the shared map after completing).
    /// </summary>
    [Fact]
    public async Task DisableLocalCacheNeverSharesAnInstanceWithACallerThatGoesOnInline()
    {
        var cache = NewInstance();
        var options = With(HybridCacheEntryFlags.DisableLocalCache);

        var (first, second) = await Bounded(InlineAsync(async () =>
        {
            var first = await cache.GetOrCreateAsync(Key(), _ => Load(1, "v1"), options);
            var second = await cache.GetOrCreateAsync(Key(), _ => Load(2, "factory"), options);
            return (first, second);
        }));

        // The second read's value comes from the L2, or from its factory where the L2 write had not landed yet
        // (Microsoft's writes it after returning, and this test cannot wait between the two reads): a new instance either way.
        Assert.Equal(new Frozen(1, "v1"), first);
        Assert.NotSame(first, second);
    }

    /// <summary>Runs <paramref name="body"/> with a synchronization context that runs every continuation posted to it at once, where it is posted.</summary>
    private static async Task<T> InlineAsync<T>(Func<Task<T>> body)
    {
        var previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(new InlineContext());
        try
        {
            return await body().ConfigureAwait(false);
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }
    }

    private sealed class InlineContext : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state) => d(state);
    }

    [Fact]
    public async Task DisableDistributedCacheReadIgnoresAValueInTheL2()
    {
        await Bounded(NewInstance().SetAsync(Key(), new Frozen(1, "in the L2")));
        var reader = NewInstance();

        var read = await Bounded(reader.GetOrCreateAsync(Key(), _ => Load(2, "factory"), With(HybridCacheEntryFlags.DisableDistributedCacheRead)));

        Assert.Equal(new Frozen(2, "factory"), read);
    }

    [Fact]
    public async Task DisableDistributedCacheWriteKeepsTheValueFromOtherInstances()
    {
        var writer = NewInstance();
        await Bounded(writer.GetOrCreateAsync(Key(), _ => Load(1, "local only"), With(HybridCacheEntryFlags.DisableDistributedCacheWrite)));
        // A later write that does reach the L2: once it is there, an earlier one would be too.
        await Bounded(writer.GetOrCreateAsync(Key() + ":marker", _ => Load(2, "marker")));
        await InL2Async<Frozen>(Key() + ":marker");

        var here = await Bounded(writer.GetOrCreateAsync<Frozen?>(Key(), _ => default, CacheOnly));
        var there = await Bounded(NewInstance().GetOrCreateAsync<Frozen?>(Key(), _ => default, CacheOnly));

        Assert.Equal(new Frozen(1, "local only"), here);
        Assert.Null(there);
    }

    [Fact]
    public async Task DisableDistributedCacheKeepsTheValueFromOtherInstancesAndIgnoresTheirs()
    {
        await Bounded(NewInstance().SetAsync(Key(), new Frozen(1, "in the L2")));
        var local = NewInstance();
        var options = With(HybridCacheEntryFlags.DisableDistributedCache);

        var loaded = await Bounded(local.GetOrCreateAsync(Key(), _ => Load(2, "local only"), options));
        await Bounded(local.GetOrCreateAsync(Key() + ":marker", _ => Load(3, "marker")));
        await InL2Async<Frozen>(Key() + ":marker");
        var there = await Bounded(NewInstance().GetOrCreateAsync<Frozen?>(Key(), _ => default, CacheOnly));

        Assert.Equal(new Frozen(2, "local only"), loaded);
        Assert.Equal(new Frozen(1, "in the L2"), there);
    }

    [Fact]
    public async Task SetWithDisableDistributedCacheWriteKeepsTheValueFromOtherInstances()
    {
        var writer = NewInstance();
        await Bounded(writer.SetAsync(Key(), new Frozen(1, "local only"), With(HybridCacheEntryFlags.DisableDistributedCacheWrite)));
        await Bounded(writer.SetAsync(Key() + ":marker", new Frozen(2, "marker")));
        await InL2Async<Frozen>(Key() + ":marker");

        var here = await Bounded(writer.GetOrCreateAsync<Frozen?>(Key(), _ => default, CacheOnly));
        var there = await Bounded(NewInstance().GetOrCreateAsync<Frozen?>(Key(), _ => default, CacheOnly));

        Assert.Equal(new Frozen(1, "local only"), here);
        Assert.Null(there);
    }

    [Fact]
    public async Task SetWithDisableLocalCacheWriteLeavesTheValueOutOfTheL1()
    {
        var cache = NewInstance();
        var value = new Frozen(1, "set");
        await Bounded(cache.SetAsync(Key(), value, With(HybridCacheEntryFlags.DisableLocalCacheWrite)));

        var read = await Bounded(cache.GetOrCreateAsync<Frozen?>(Key(), _ => default, CacheOnly));

        Assert.Equal(value, read);
        Assert.NotSame(value, read);
    }

    [Fact]
    public async Task DisableUnderlyingDataReturnsDefaultOnAMissWithoutCallingTheFactory()
    {
        var cache = NewInstance();
        var factory = new CountingFactory<Frozen?>(n => new Frozen(n, "factory"));
        var options = With(HybridCacheEntryFlags.DisableUnderlyingData);

        var missed = await Bounded(cache.GetOrCreateAsync(Key(), factory.CreateAsync, options));
        var missedInt = await Bounded(cache.GetOrCreateAsync(Key() + ":int", _ => ValueTask.FromResult(42), options));

        Assert.Null(missed);
        Assert.Equal(0, missedInt);
        Assert.Equal(0, factory.Calls);
    }

    [Fact]
    public async Task DisableUnderlyingDataStillReturnsACachedValueFromEitherLevel()
    {
        var cache = NewInstance();
        var factory = new CountingFactory<Frozen?>(n => new Frozen(n, "factory"));
        var options = With(HybridCacheEntryFlags.DisableUnderlyingData);
        await Bounded(cache.SetAsync(Key(), new Frozen(1, "cached")));

        var fromL1 = await Bounded(cache.GetOrCreateAsync(Key(), factory.CreateAsync, options));
        var fromL2 = await Bounded(NewInstance().GetOrCreateAsync(Key(), factory.CreateAsync, options));

        Assert.Equal((new Frozen(1, "cached"), new Frozen(1, "cached")), (fromL1, fromL2));
        Assert.Equal(0, factory.Calls);
    }

    [Fact]
    public async Task DisableCompressionIsAcceptedAndTheValueRoundTripsThroughTheL2()
    {
        var cache = NewInstance();
        var text = string.Concat(Enumerable.Repeat("compressible ", 10_000));
        var options = With(HybridCacheEntryFlags.DisableCompression);

        await Bounded(cache.GetOrCreateAsync(Key(), _ => ValueTask.FromResult(new Mutable { Id = 1, Name = text }), options));
        await Bounded(cache.SetAsync(Key() + ":set", new Mutable { Id = 2, Name = text }, options));
        await InL2Async<Mutable>(Key());

        var fresh = NewInstance();
        var loaded = await Bounded(fresh.GetOrCreateAsync<Mutable?>(Key(), _ => default, CacheOnly));
        var set = await Bounded(fresh.GetOrCreateAsync<Mutable?>(Key() + ":set", _ => default, CacheOnly));

        Assert.Equal((1, text), (loaded?.Id, loaded?.Name));
        Assert.Equal((2, text), (set?.Id, set?.Name));
    }
}
