using CacheFlow.Local;

namespace CacheFlow.Tests;

/// <summary>A nearly full L1 admits only keys read at least twice lately, counted by a frequency sketch.</summary>
public sealed class LocalAdmissionTests(GarnetBackend backend) : IClassFixture<GarnetBackend>
{
    private const int SizeLimit = 10;

    [Fact]
    public void TheSketchCountsEachKeyAndSaturatesAtFifteen()
    {
        var sketch = new FrequencySketch(capacity: 1_000);

        for (var i = 0; i < 3; i++)
            sketch.Increment(Hash(1));
        for (var i = 0; i < 40; i++)
            sketch.Increment(Hash(2));

        Assert.Equal((3, 15, 0), (sketch.Estimate(Hash(1)), sketch.Estimate(Hash(2)), sketch.Estimate(Hash(3))));
    }

    [Fact]
    public void EveryCountIsHalvedOnceTheSketchHasSeenTenReadsPerEntry()
    {
        // 16 entries: a sample of 160 reads; keys 1 and 2 fall in different blocks, so neither touches the other's counters.
        var sketch = new FrequencySketch(capacity: 16);
        for (var i = 0; i < 10; i++)
            sketch.Increment(Hash(1));
        for (var i = 0; i < 149; i++)
            sketch.Increment(Hash(2));
        Assert.Equal((10, 15), (sketch.Estimate(Hash(1)), sketch.Estimate(Hash(2))));

        sketch.Increment(Hash(2));

        Assert.Equal((5, 7), (sketch.Estimate(Hash(1)), sketch.Estimate(Hash(2))));
    }

    [Fact]
    public async Task ANearlyFullL1KeepsAKeyOnlyFromItsSecondRead()
    {
        using var cache = Create(admission: true);
        await FillAsync(cache);

        Assert.False((await ReadAsync(cache, "once")).FromLocal);
        Assert.Equal<long?>(9, cache.LocalEntries);
        Assert.False((await ReadAsync(cache, "once")).FromLocal);

        Assert.True((await ReadAsync(cache, "once")).FromLocal);
        Assert.Equal<long?>(10, cache.LocalEntries);
    }

    [Fact]
    public async Task ControlWithoutAdmissionANearlyFullL1KeepsAKeyFromItsFirstRead()
    {
        using var cache = Create(admission: false);
        await FillAsync(cache);

        Assert.False((await ReadAsync(cache, "once")).FromLocal);

        Assert.True((await ReadAsync(cache, "once")).FromLocal);
    }

    /// <summary>Nine keys read once each: below 90% of the limit every copy is kept, which leaves the L1 nearly full.</summary>
    private static async Task FillAsync(CacheFlowCache cache)
    {
        for (var i = 0; i < 9; i++)
            await ReadAsync(cache, $"fill:{i}");
        Assert.Equal<long?>(9, cache.LocalEntries);
    }

    private static ValueTask<CacheResult> ReadAsync(CacheFlowCache cache, string key) =>
        cache.GetOrCreateJsonAsync(key, _ => ValueTask.FromResult<Item?>(new Item(1, key)));

    private CacheFlowCache Create(bool admission) => TestCaches.Create(backend.Redis, configure: o =>
    {
        o.LocalCacheEnabled = true;
        o.LocalMaxAge = TimeSpan.FromMinutes(1);
        o.LocalSizeLimit = SizeLimit;
        o.LocalFrequencyAdmission = admission;
    });

    /// <summary>A hash whose block (its low bits) is <paramref name="block"/> and whose counters are spread by its high bits.</summary>
    private static ulong Hash(int block) => ((ulong)block * 0x9E37_79B9_0000_0000UL) | (uint)block;
}
