using Microsoft.Extensions.Caching.Hybrid;

namespace CacheFlow.Tests.HybridCaching;

/// <summary>HybridCacheEntryOptions.Expiration and LocalCacheExpiration, with short real expirations and bounded waits.</summary>
public abstract partial class HybridCacheConformance
{
    private static readonly TimeSpan ExpiryWait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task AnEntryIsGoneEverywhereAfterItsExpiration()
    {
        var cache = NewInstance();
        var other = NewInstance();
        var options = new HybridCacheEntryOptions { Expiration = TimeSpan.FromSeconds(1) };
        await Bounded(cache.SetAsync(Key(), new Frozen(1, "short-lived"), options));
        // Likely into the other instance's L1 too; not asserted, as the entry may already have expired on a slow machine.
        await Bounded(other.GetOrCreateAsync<Frozen?>(Key(), _ => default, CacheOnly));

        var (goneHere, _) = await ReadUntilAsync<Frozen>(cache, Key(), v => v is null, ExpiryWait);
        var (goneThere, _) = await ReadUntilAsync<Frozen>(other, Key(), v => v is null, ExpiryWait);
        var (goneFresh, _) = await ReadUntilAsync<Frozen>(NewInstance(), Key(), v => v is null, ExpiryWait);

        Assert.Equal((true, true, true), (goneHere, goneThere, goneFresh));
    }

    [Fact]
    public async Task ALoadedEntryIsLoadedAgainAfterItsExpiration()
    {
        var cache = NewInstance();
        var factory = new CountingFactory<Frozen>(n => new Frozen(n, "loaded"));
        var options = new HybridCacheEntryOptions { Expiration = TimeSpan.FromSeconds(1) };
        await Bounded(cache.GetOrCreateAsync(Key(), factory.CreateAsync, options));

        using var deadline = new CancellationTokenSource(ExpiryWait);
        while (factory.Calls < 2 && !deadline.IsCancellationRequested)
        {
            await Bounded(cache.GetOrCreateAsync(Key(), factory.CreateAsync, options));
            await Task.Delay(20, CancellationToken.None);
        }

        Assert.Equal(2, factory.Calls);
    }

    [Fact]
    public async Task ALocalCopyNeverOutlivesTheEntryEvenWithALongerLocalCacheExpiration()
    {
        var writer = NewInstance();
        var reader = NewInstance();
        var longLocal = new HybridCacheEntryOptions { Expiration = TimeSpan.FromSeconds(2), LocalCacheExpiration = TimeSpan.FromMinutes(10) };
        var readLongLocal = new HybridCacheEntryOptions { LocalCacheExpiration = TimeSpan.FromMinutes(10), Flags = HybridCacheEntryFlags.DisableUnderlyingData };
        await Bounded(writer.SetAsync(Key(), new Frozen(1, "short-lived"), longLocal));
        await Bounded(reader.GetOrCreateAsync<Frozen?>(Key(), _ => default, readLongLocal));

        var (goneForWriter, _) = await ReadUntilAsync<Frozen>(writer, Key(), v => v is null, ExpiryWait);
        using var deadline = new CancellationTokenSource(ExpiryWait);
        Frozen? read;
        do
        {
            read = await Bounded(reader.GetOrCreateAsync<Frozen?>(Key(), _ => default, readLongLocal));
            await Task.Delay(20, CancellationToken.None);
        }
        while (read is not null && !deadline.IsCancellationRequested);

        Assert.Equal((true, null), (goneForWriter, read));
    }

    [Fact]
    public async Task TheLocalCopyIsDroppedAfterLocalCacheExpirationWhileTheL2KeepsTheEntry()
    {
        var reader = NewInstance();
        var writer = NewInstance();
        var options = new HybridCacheEntryOptions { Expiration = TimeSpan.FromMinutes(10), LocalCacheExpiration = TimeSpan.FromSeconds(1) };
        await Bounded(reader.GetOrCreateAsync(Key(), _ => ValueTask.FromResult(new Frozen(1, "v1")), options));
        await InL2Async<Frozen>(Key());

        // Only the writer's L1 and the L2 see v2: the reader can only learn of it by reading the L2 again.
        await Bounded(writer.SetAsync(Key(), new Frozen(2, "v2"), options));
        var (sawV2, last) = await ReadUntilAsync<Frozen>(reader, Key(), v => v?.Id == 2, ExpiryWait);

        Assert.True(sawV2, $"the reader still serves {last} from its L1");
    }

    [Fact]
    public async Task LocalCacheExpirationDoesNotShortenTheEntryInTheL2()
    {
        var cache = NewInstance();
        var options = new HybridCacheEntryOptions { Expiration = TimeSpan.FromMinutes(10), LocalCacheExpiration = TimeSpan.FromSeconds(1) };
        var factory = new CountingFactory<Frozen>(n => new Frozen(n, "loaded"));
        var first = await Bounded(cache.GetOrCreateAsync(Key(), factory.CreateAsync, options));

        // Once the L1 copy has expired, a read comes from the L2: an equal value, a new instance, no factory call.
        var (reread, last) = await ReadUntilAsync<Frozen>(cache, Key(), v => v is not null && !ReferenceEquals(v, first), ExpiryWait);

        Assert.True(reread, $"the L1 still serves the first instance, or the entry is gone: {last}");
        Assert.Equal(first, last);
        Assert.Equal(1, factory.Calls);
    }
}
