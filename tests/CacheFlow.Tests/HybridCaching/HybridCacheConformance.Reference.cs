using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;

namespace CacheFlow.Tests.HybridCaching;

/// <summary>
/// What Microsoft's DefaultHybridCache does where the documentation says little, as its own tests in dotnet/extensions
/// show it (StampedeTests, SizeTests, ServiceConstructionTests): the default entry options, keys that may not be
/// cached, the factory's own instance of an immutable value and one task for the callers of its load, serializer
/// failures and call counts, the options' limits and an IMemoryCache size limit. Written from those tests' behaviours,
/// through the public API only, with Redis as the L2.
/// </summary>
public abstract partial class HybridCacheConformance
{
    /// <summary>Registers HybridCacheOptions as <c>AddHybridCache(o => …)</c> would, for either implementation.</summary>
    private static Action<IServiceCollection> WithOptions(Action<HybridCacheOptions> configure) => services => services.Configure(configure);

    [Fact]
    public async Task DefaultEntryOptionsFlagsApplyToACallThatGivesNoneAndACallsOwnFlagsReplaceThem()
    {
        var cache = NewInstance(WithOptions(o => o.DefaultEntryOptions = new() { Flags = HybridCacheEntryFlags.DisableLocalCache | HybridCacheEntryFlags.DisableDistributedCache }));
        var uncached = new CountingFactory<Frozen>(n => new Frozen(n, "uncached"));
        var cached = new CountingFactory<Frozen>(n => new Frozen(n, "cached"));
        var ownFlags = new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.None };

        for (var i = 0; i < 2; i++)
        {
            await Bounded(cache.GetOrCreateAsync(Key(suffix: ":defaults"), uncached.CreateAsync));
            await Bounded(cache.GetOrCreateAsync(Key(suffix: ":own"), cached.CreateAsync, ownFlags));
        }

        Assert.Equal((2, 1), (uncached.Calls, cached.Calls));
    }

    [Fact]
    public async Task DefaultEntryOptionsExpirationAppliesToACallThatGivesNone()
    {
        var cache = NewInstance(WithOptions(o => o.DefaultEntryOptions = new() { Expiration = TimeSpan.FromSeconds(1) }));
        var factory = new CountingFactory<Frozen>(n => new Frozen(n, "loaded"));
        await Bounded(cache.GetOrCreateAsync(Key(), factory.CreateAsync));

        using var deadline = new CancellationTokenSource(ExpiryWait);
        while (factory.Calls < 2 && !deadline.IsCancellationRequested)
        {
            await Bounded(cache.GetOrCreateAsync(Key(), factory.CreateAsync));
            await Task.Delay(20, CancellationToken.None);
        }

        Assert.Equal(2, factory.Calls);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("a\u0000c")]
    [InlineData("a\u001Fc")]
    public async Task AKeyThatMayNotBeCachedRunsTheFactoryOnEveryCallAndNeverThrows(string? key)
    {
        var cache = NewInstance();
        var factory = new CountingFactory<Frozen>(n => new Frozen(n, "loaded"));

        var first = await Bounded(cache.GetOrCreateAsync(key!, factory.CreateAsync));
        var second = await Bounded(cache.GetOrCreateAsync(key!, factory.CreateAsync));
        var cacheOnly = await Bounded(cache.GetOrCreateAsync<Frozen?>(key!, _ => ValueTask.FromResult<Frozen?>(new Frozen(0, "factory")), CacheOnly));

        Assert.Equal((new Frozen(1, "loaded"), new Frozen(2, "loaded"), null), (first, second, cacheOnly));
    }

    [Fact]
    public async Task AKeyWithASpaceInsideIsCachedLikeAnyOther()
    {
        var cache = NewInstance();
        var factory = new CountingFactory<Frozen>(n => new Frozen(n, "loaded"));

        await Bounded(cache.GetOrCreateAsync(Key(suffix: " c"), factory.CreateAsync));
        await Bounded(cache.GetOrCreateAsync(Key(suffix: " c"), factory.CreateAsync));

        Assert.Equal(1, factory.Calls);
    }

    [Fact]
    public async Task MaximumKeyLengthSetInHybridCacheOptionsIsHonoured()
    {
        var cache = NewInstance(WithOptions(o => o.MaximumKeyLength = 2));
        var factory = new CountingFactory<Frozen>(n => new Frozen(n, "loaded"));

        await Bounded(cache.GetOrCreateAsync("abc", factory.CreateAsync));
        await Bounded(cache.GetOrCreateAsync("abc", factory.CreateAsync));
        await Bounded(cache.GetOrCreateAsync("ab", factory.CreateAsync));
        await Bounded(cache.GetOrCreateAsync("ab", factory.CreateAsync));

        Assert.Equal(3, factory.Calls);
    }

    [Fact]
    public async Task MaximumPayloadBytesSetInHybridCacheOptionsKeepsALargerValueOutOfTheL2()
    {
        var cache = NewInstance(WithOptions(o => o.MaximumPayloadBytes = 8L));

        var loaded = await Bounded(cache.GetOrCreateAsync(Key(), _ => ValueTask.FromResult(new Frozen(1, "longer than eight bytes"))));
        var elsewhere = await Bounded(NewInstance().GetOrCreateAsync<Frozen?>(Key(), _ => default, CacheOnly));

        Assert.Equal((new Frozen(1, "longer than eight bytes"), null), (loaded, elsewhere));
    }

    [Fact]
    public async Task TheCallerThatLoadsAnImmutableValueGetsTheFactorysOwnInstanceAndSoDoL1Hits()
    {
        var cache = NewInstance();
        // Made at run time, so no interning can make two copies look like one.
        var made = new string("simple value".ToArray());
        var frozen = new Frozen(1, "frozen");

        var text = await Bounded(cache.GetOrCreateAsync(Key(suffix: ":string"), _ => ValueTask.FromResult(made)));
        var textAgain = await Bounded(cache.GetOrCreateAsync(Key(suffix: ":string"), _ => ValueTask.FromResult("factory")));
        var record = await Bounded(cache.GetOrCreateAsync(Key(suffix: ":record"), _ => ValueTask.FromResult(frozen)));
        var recordAgain = await Bounded(cache.GetOrCreateAsync(Key(suffix: ":record"), _ => ValueTask.FromResult(new Frozen(2, "factory"))));

        Assert.Same(made, text);
        Assert.Same(made, textAgain);
        Assert.Same(frozen, record);
        Assert.Same(frozen, recordAgain);
    }

    [Fact]
    public async Task AnImmutableValueSetIsTheInstanceLaterL1HitsReturn()
    {
        var cache = NewInstance();
        var frozen = new Frozen(1, "set");

        await Bounded(cache.SetAsync(Key(), frozen));
        var read = await Bounded(cache.GetOrCreateAsync(Key(), _ => ValueTask.FromResult(new Frozen(2, "factory"))));

        Assert.Same(frozen, read);
    }

    [Fact]
    public async Task CallersThatCannotBeCancelledShareOneTaskForAnImmutableValue()
    {
        var cache = NewInstance();
        var factory = new GatedFactory<Frozen>(n => new Frozen(n, "loaded"));

        var first = cache.GetOrCreateAsync(Key(), factory.CreateAsync).AsTask();
        await Bounded(factory.Started);
        var second = cache.GetOrCreateAsync(Key(), factory.CreateAsync).AsTask();
        factory.Open();

        if (KeepsNoStaleSet)
        {
            // A deliberate departure: one task would hand a caller that started after a removal the value read before it
            // (ACallerThatStartsAfterARemovalIsNotHandedALoadThatReadBeforeIt). Each caller has its own task, and the
            // load is still one factory call, whose instance both get.
            Assert.NotSame(first, second);
            Assert.Same(await Bounded(first), await Bounded(second));
            Assert.Equal(1, factory.Calls);
            return;
        }

        Assert.Same(first, second);
        Assert.Same(await Bounded(first), await Bounded(second));
    }

    [Fact]
    public async Task CallersThatCanBeCancelledOrWantAMutableValueEachHaveATaskOfTheirOwn()
    {
        var cache = NewInstance();
        var frozen = new GatedFactory<Frozen>(n => new Frozen(n, "loaded"));
        var mutable = new GatedFactory<Mutable>(n => new Mutable { Id = n });
        using var cancellable = new CancellationTokenSource();

        var one = cache.GetOrCreateAsync(Key(suffix: ":frozen"), frozen.CreateAsync, cancellationToken: cancellable.Token).AsTask();
        await Bounded(frozen.Started);
        var two = cache.GetOrCreateAsync(Key(suffix: ":frozen"), frozen.CreateAsync, cancellationToken: cancellable.Token).AsTask();
        var three = cache.GetOrCreateAsync(Key(suffix: ":mutable"), mutable.CreateAsync).AsTask();
        await Bounded(mutable.Started);
        var four = cache.GetOrCreateAsync(Key(suffix: ":mutable"), mutable.CreateAsync).AsTask();
        frozen.Open();
        mutable.Open();

        Assert.NotSame(one, two);
        Assert.NotSame(three, four);
        Assert.Equal(await Bounded(one), await Bounded(two));
        var (x, y) = (await Bounded(three), await Bounded(four));
        Assert.Equal(x.Id, y.Id);
        Assert.NotSame(x, y);
        Assert.Equal((1, 1), (frozen.Calls, mutable.Calls));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ASerializersExceptionWhileSerializingReachesTheCallerAndNothingIsCached(bool immutable)
    {
        var serializer = new FailingSerializer();
        var cache = NewInstance(Serializing(serializer));
        var calls = 0;

        var failure = immutable
            ? await Record.ExceptionAsync(() => Bounded(cache.GetOrCreateAsync(Key(), _ => { calls++; return ValueTask.FromResult(new FrozenFragile("write fail")); })))
            : await Record.ExceptionAsync(() => Bounded(cache.GetOrCreateAsync(Key(), _ => { calls++; return ValueTask.FromResult(new Fragile { Text = "write fail" }); })));
        var cached = await Bounded(NewInstance(Serializing(serializer)).GetOrCreateAsync<Fragile?>(Key(), _ => default, CacheOnly));

        Assert.IsType<KnownFailureException>(failure);
        Assert.Equal((1, 1, null), (calls, serializer.Serialized, cached));
    }

    [Fact]
    public async Task AMutableValuesDeserializerExceptionReachesTheCallerThatLoadedIt()
    {
        var serializer = new FailingSerializer();
        var cache = NewInstance(Serializing(serializer));

        var failure = await Record.ExceptionAsync(() => Bounded(cache.GetOrCreateAsync(Key(), _ => ValueTask.FromResult(new Fragile { Text = "read fail" }))));

        Assert.IsType<KnownFailureException>(failure);
        Assert.Equal((1, 1), (serializer.Serialized, serializer.Deserialized));
    }

    [Fact]
    public async Task AnImmutableValueIsSerializedOnceAndNeverDeserializedForItsLoaderOrItsL1Hits()
    {
        var serializer = new FailingSerializer();
        var cache = NewInstance(Serializing(serializer));

        // "read fail": were it deserialized anywhere on this path, the call would throw.
        var first = await Bounded(cache.GetOrCreateAsync(Key(), _ => ValueTask.FromResult(new FrozenFragile("read fail"))));
        var second = await Bounded(cache.GetOrCreateAsync(Key(), _ => ValueTask.FromResult(new FrozenFragile("factory"))));

        Assert.Same(first, second);
        Assert.Equal((1, 0), (serializer.Serialized, serializer.Deserialized));
    }

    [Theory]
    [InlineData(8L, false)]
    [InlineData(1024L, true)]
    public async Task AnIMemoryCacheSizeLimitDecidesWhetherAValueFitsTheL1(long sizeLimit, bool fromL1)
    {
        var cache = NewInstance(services => services.AddMemoryCache(o => o.SizeLimit = sizeLimit));
        var made = new string("simple value".ToArray());

        await Bounded(cache.GetOrCreateAsync(Key(), _ => ValueTask.FromResult(made)));
        // Microsoft's may write the L2 after handing the value out (CI once read "factory" from its control on Garnet):
        // the read below waits until a read that runs no factory finds the value.
        var lookup = new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableUnderlyingData };
        using (var deadline = new CancellationTokenSource(Generous))
        {
            while (await Bounded(cache.GetOrCreateAsync(Key(), _ => ValueTask.FromResult<string>(null!), lookup)) is null)
                await Task.Delay(1, deadline.Token);
        }
        var read = await Bounded(cache.GetOrCreateAsync(Key(), _ => ValueTask.FromResult("factory")));

        // From the L1 the factory's own instance comes back; from the L2 an equal copy.
        Assert.Equal(made, read);
        Assert.Equal(fromL1, ReferenceEquals(made, read));
    }

    [Fact]
    public async Task EachCallerThatCancelsIsCancelledPromptlyByItsOwnTokenAndTheFactoryLearnsOfItOnce()
    {
        var cache = NewInstance();
        var factory = new GatedFactory<Frozen>(n => new Frozen(n, "loaded"));
        var tokens = Enumerable.Range(0, 3).Select(_ => new CancellationTokenSource()).ToList();
        var callers = new List<Task<Frozen>> { cache.GetOrCreateAsync(Key(), factory.CreateAsync, cancellationToken: tokens[0].Token).AsTask() };
        var factoryToken = await Bounded(factory.Started);
        callers.AddRange(tokens.Skip(1).Select(t => cache.GetOrCreateAsync(Key(), factory.CreateAsync, cancellationToken: t.Token).AsTask()));

        foreach (var token in tokens)
            await token.CancelAsync();
        var blamed = new List<CancellationToken>();
        foreach (var caller in callers)
            blamed.Add((await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Bounded(caller))).CancellationToken);
        factory.Open();

        Assert.Equal(tokens.Select(t => t.Token), blamed);
        Assert.True(factoryToken.IsCancellationRequested, "the factory's token was not cancelled once every caller had left");
        Assert.Equal(1, factory.Calls);
        tokens.ForEach(t => t.Dispose());
    }

    private static Action<IServiceCollection> Serializing(FailingSerializer serializer) => services =>
    {
        services.AddSingleton<IHybridCacheSerializer<Fragile>>(serializer);
        services.AddSingleton<IHybridCacheSerializer<FrozenFragile>>(serializer);
    };
}
