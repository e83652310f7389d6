using CacheFlow.Invalidation;
using CacheFlow.Local;
using CacheFlow.Redis;

namespace CacheFlow.Tests;

/// <summary>The L1's memory stays bounded by its size limit: copies that leave it leave its tag index too.</summary>
public sealed class LocalCacheBoundsTests(GarnetBackend backend) : IClassFixture<GarnetBackend>
{
    private const int SizeLimit = 100;
    private const int Written = 2_000;

    [Fact]
    public async Task TaggedCopiesEvictedForLackOfRoomLeaveTheTagIndex()
    {
        using var local = Create(CacheProtections.All);

        await WriteTaggedAsync(local);

        // Each copy in the L1 carries two tags (its own and "all"); the evicted ones carry none any more.
        await Eventually.TrueAsync(
            () => local.TaggedKeys == 2 * local.Count && local.IndexedTags == local.Count + 1,
            "the index holds the copies in the L1 and no others");
        Assert.InRange(local.TaggedKeys, 2, 2 * SizeLimit);
    }

    [Fact]
    public async Task ControlWithoutPruningEvictedCopiesStayInTheTagIndex()
    {
        using var local = Create(CacheProtections.All & ~CacheProtections.LocalTagPruning);

        await WriteTaggedAsync(local);

        Assert.Equal((2 * Written, Written + 1), (local.TaggedKeys, local.IndexedTags));
    }

    [Fact]
    public async Task RemovingATagStillDropsEveryCopyThatCarriesItAndEmptiesTheIndex()
    {
        using var local = Create(CacheProtections.All);
        await WriteTaggedAsync(local);

        local.DropTag("all");

        Assert.Equal(0, local.Count);
        await Eventually.TrueAsync(() => local.TaggedKeys == 0 && local.IndexedTags == 0, "the index is empty");
    }

    [Fact]
    public async Task ACopyReplacedByOneWithOtherTagsLeavesItsOldTagsInTheIndex()
    {
        using var local = Create(CacheProtections.All);
        Store(local, "item:1", ["old"]);

        Store(local, "item:1", ["new"]);

        await Eventually.TrueAsync(() => local.IndexedTags == 1, "the old tag left the index");
        local.DropTag("new");
        Assert.Equal(0, local.Count);
    }

    /// <summary>Writes far more tagged copies than the L1 holds, then waits until its size limit evicted the excess.</summary>
    private static async Task WriteTaggedAsync(LocalCache local)
    {
        for (var i = 0; i < Written; i++)
            Store(local, $"item:{i}", [$"item:{i}", "all"]);
        await Eventually.TrueAsync(() => local.Count <= SizeLimit, "the size limit evicted the excess");
    }

    private static void Store(LocalCache local, string key, string[] tags)
    {
        var options = new CacheEntryOptions { Tags = tags };
        var hardExpiry = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds();
        var stored = new StoredEntry(new CacheEntry(CacheEntryFlags.None, hardExpiry, hardExpiry, 0, 0), new byte[CacheEntry.HeaderSize]);
        local.Set(key, stored, options, local.Stamp(key, tags));
    }

    private LocalCache Create(CacheProtections protections)
    {
        var options = new CacheFlowOptions
        {
            KeyPrefix = $"lb{Guid.NewGuid():N}:",
            LocalCacheEnabled = true,
            LocalMaxAge = TimeSpan.FromMinutes(1),
            LocalSizeLimit = SizeLimit,
            // Every copy here is written once and never read: admission would keep the L1 from ever filling.
            LocalFrequencyAdmission = false,
            Protections = protections,
        };
        return new LocalCache(backend.Redis, new InvalidationBus(backend.Redis, options), options, TimeProvider.System);
    }
}
