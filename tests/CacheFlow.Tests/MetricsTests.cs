using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CacheFlow.Tests;

public sealed class MetricsTests(GarnetBackend backend) : IClassFixture<GarnetBackend>
{
    [Fact]
    public async Task TheMeterReportsHitsMissesAndLoadsByKeyFamily()
    {
        using var meterFactory = new TestMeterFactory();
        using var cache = new CacheFlowCache(backend.Redis, Options.Create(Configured()),
            TimeProvider.System, NullLogger<CacheFlowCache>.Instance, meterFactory);
        for (var i = 0; i < 3; i++)
            await cache.GetOrCreateAsync("user:1", _ => ValueTask.FromResult(new Item(1, "a")), cancellationToken: CancellationToken.None);
        await cache.GetOrCreateAsync("users:list:page=1", _ => ValueTask.FromResult(new Item(2, "b")), cancellationToken: CancellationToken.None);

        var measured = Observe(meterFactory);

        Assert.Equal(2, measured[("cacheflow.hits", "user", "l2")]);
        Assert.Equal(0, measured[("cacheflow.hits", "user", "l1")]);
        Assert.Equal(1, measured[("cacheflow.misses", "user", "")]);
        Assert.Equal(1, measured[("cacheflow.loads", "users:list", "")]);
        Assert.Equal(0, measured[("cacheflow.hits", "users:list", "l2")]);
    }

    [Fact]
    public async Task LoadsOfKeysBeyondTheKeyFamilyCapAreCountedAsOther()
    {
        using var meterFactory = new TestMeterFactory();
        using var cache = new CacheFlowCache(backend.Redis, Options.Create(Configured(o => o.MaxKeyFamilies = 3)),
            TimeProvider.System, NullLogger<CacheFlowCache>.Instance, meterFactory);

        await cache.GetOrCreateAsync("user:1", _ => ValueTask.FromResult(new Item(1, "a")), cancellationToken: TestContext.Current.CancellationToken);
        for (var i = 0; i < 20; i++)
        {
            await cache.GetOrCreateAsync($"user-by-name:{KeyFamilyTests.Letters(i)}", _ => ValueTask.FromResult(new Item(i, KeyFamilyTests.Letters(i))),
                cancellationToken: TestContext.Current.CancellationToken);
        }

        var families = cache.GetStatistics().Families;
        Assert.Equal(["other", "user", "user-by-name:a", "user-by-name:b"], families.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(18, families[KeyFamily.Other].Loads);
        var series = Observe(meterFactory).Keys.Where(k => k.Instrument == "cacheflow.loads").Select(k => k.Family);
        Assert.Equal(["other", "user", "user-by-name:a", "user-by-name:b"], series.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task AReadThatWaitsForAnotherProcesssLeaseRecordsItsWaitOnceAndTheLoaderNone()
    {
        using var meterFactory = new TestMeterFactory();
        var options = Configured();
        await using var other = await backend.ConnectAsync();
        using var loader = new CacheFlowCache(other, Options.Create(new CacheFlowOptions { KeyPrefix = options.KeyPrefix, RedisTimeout = TimeSpan.Zero }),
            TimeProvider.System, NullLogger<CacheFlowCache>.Instance);
        var watched = ChaosRedis.Over(backend.Redis);
        using var waiter = new CacheFlowCache(watched.Connection, Options.Create(options), TimeProvider.System, NullLogger<CacheFlowCache>.Instance, meterFactory);
        var waits = new List<double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (meterFactory.Meters.Contains(instrument.Meter) && instrument.Name == "cacheflow.lease.wait")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<double>((_, value, _, _) => waits.Add(value));
        listener.Start();

        // The other process holds the lease (its load is at a gate) while this one reads the key.
        var gate = new HeldLoader<Item>(new Item(1, "loaded"));
        var held = loader.GetOrCreateAsync("user:1", gate.LoadAsync, cancellationToken: CancellationToken.None);
        await gate.Reached;
        var waiting = waiter.GetOrCreateAsync<Item>("user:1", _ => throw new InvalidOperationException("the other process loads it"), cancellationToken: CancellationToken.None);
        // Waiting: its read found the other load's placeholder, and it polled again (two more reads that would take the lease, at least).
        await Eventually.TrueAsync(() => watched.Sent.Count(m => m == nameof(StackExchange.Redis.IDatabase.StringSetAndGetAsync)) >= 3, "the waiter polled the lease");
        Assert.Empty(waits);
        gate.Release();

        Assert.Equal("loaded", (await waiting.Within()).Value!.Name);
        await held.Within();
        Assert.True(Assert.Single(waits) > 0);
    }

    /// <summary>
    /// Options with a key prefix of their own and no Redis timeout: these tests count outcomes, and the first calls on
    /// a cold Garnet can outlast the guard's 500 ms on a loaded machine, turning a hit into a bypass.
    /// </summary>
    private static CacheFlowOptions Configured(Action<CacheFlowOptions>? configure = null)
    {
        var options = new CacheFlowOptions { KeyPrefix = $"m{Guid.NewGuid():N}:", RedisTimeout = TimeSpan.Zero };
        configure?.Invoke(options);
        return options;
    }

    /// <summary>What the meter's observable counters report now, by instrument, family and level.</summary>
    private static Dictionary<(string Instrument, string Family, string Level), long> Observe(TestMeterFactory meterFactory)
    {
        var measured = new Dictionary<(string, string, string), long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (meterFactory.Meters.Contains(instrument.Meter))
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var labels = tags.ToArray().ToDictionary(t => t.Key, t => (string?)t.Value);
            if (labels.TryGetValue("family", out var family))
                measured[(instrument.Name, family!, labels.GetValueOrDefault("level") ?? "")] = value;
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return measured;
    }

    private sealed class TestMeterFactory : IMeterFactory
    {
        public List<Meter> Meters { get; } = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
            Meters.Add(meter);
            return meter;
        }

        public void Dispose() => Meters.ForEach(m => m.Dispose());
    }
}
