using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace CacheFlow.Api.Tests;

/// <summary>
/// Sums what one API instance adds to one counter of its meters (those its own <see cref="IMeterFactory"/> made), not
/// what other hosts in the test process add, from the moment it is made.
/// </summary>
public sealed class InstanceCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _total;

    /// <param name="services">The instance's services.</param>
    /// <param name="name">The counter, such as <c>cacheflow.outbox.applied</c>.</param>
    /// <param name="tags">Tags a measurement must carry to count (all of them, with these values).</param>
    public InstanceCounter(IServiceProvider services, string name, params (string Key, object Value)[] tags)
    {
        var meters = services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope == meters && instrument.Name == name)
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((_, value, measured, _) =>
        {
            foreach (var (key, expected) in tags)
            {
                var found = false;
                foreach (var tag in measured)
                    found |= tag.Key == key && Equals(tag.Value, expected);
                if (!found)
                    return;
            }

            Interlocked.Add(ref _total, value);
        });
        _listener.Start();
    }

    /// <summary>The sum so far.</summary>
    public long Total => Volatile.Read(ref _total);

    public void Dispose() => _listener.Dispose();
}
