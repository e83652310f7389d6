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
        using var cache = new CacheFlowCache(backend.Redis, Options.Create(new CacheFlowOptions { KeyPrefix = $"m{Guid.NewGuid():N}:" }),
            TimeProvider.System, NullLogger<CacheFlowCache>.Instance, meterFactory);
        for (var i = 0; i < 3; i++)
            await cache.GetOrCreateAsync("user:1", _ => ValueTask.FromResult(new Item(1, "a")), cancellationToken: CancellationToken.None);
        await cache.GetOrCreateAsync("users:list:page=1", _ => ValueTask.FromResult(new Item(2, "b")), cancellationToken: CancellationToken.None);

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

        Assert.Equal(2, measured[("cacheflow.hits", "user", "l2")]);
        Assert.Equal(0, measured[("cacheflow.hits", "user", "l1")]);
        Assert.Equal(1, measured[("cacheflow.misses", "user", "")]);
        Assert.Equal(1, measured[("cacheflow.loads", "users:list", "")]);
        Assert.Equal(0, measured[("cacheflow.hits", "users:list", "l2")]);
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
