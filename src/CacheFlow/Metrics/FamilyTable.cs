using System.Collections.Concurrent;

namespace CacheFlow.Metrics;

/// <summary>
/// The counters of each key family, bounded: the declared families (<see cref="CacheFlowOptions.KeyFamilies"/>), or
/// else the families found from the keys, first come, up to <see cref="CacheFlowOptions.MaxKeyFamilies"/>; every
/// other key is counted under <see cref="KeyFamily.Other"/>. A key of a known family finds its counters without
/// allocating.
/// </summary>
internal sealed class FamilyTable
{
    private readonly ConcurrentDictionary<string, FamilyCounters> _families = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, FamilyCounters>.AlternateLookup<ReadOnlySpan<char>> _bySpan;
    private readonly int _maxFound;
    private readonly int _declaredSegments;
    private readonly Lock _admitting = new();
    private int _found;
    private FamilyCounters? _other;

    public FamilyTable(CacheFlowOptions options)
    {
        _bySpan = _families.GetAlternateLookup<ReadOnlySpan<char>>();
        _maxFound = options.MaxKeyFamilies;
        foreach (var family in options.KeyFamilies)
        {
            if (string.IsNullOrEmpty(family))
                continue;
            _families.TryAdd(family, new FamilyCounters(family));
            _declaredSegments = Math.Max(_declaredSegments, family.AsSpan().Count(':') + 1);
        }
    }

    /// <summary>Every family's counters, <see cref="KeyFamily.Other"/> included once a key was counted there.</summary>
    public IEnumerable<KeyValuePair<string, FamilyCounters>> All => _families;

    /// <summary>The counters of a key's family.</summary>
    public FamilyCounters For(ReadOnlySpan<char> key) => _declaredSegments > 0 ? Declared(key) : Found(key);

    /// <summary>The longest declared family the key starts with, whole segments only.</summary>
    private FamilyCounters Declared(ReadOnlySpan<char> key)
    {
        var end = SegmentsEnd(key, _declaredSegments);
        while (end > 0)
        {
            if (_bySpan.TryGetValue(key[..end], out var counters))
                return counters;
            end = key[..end].LastIndexOf(':');
        }

        return Other();
    }

    private FamilyCounters Found(ReadOnlySpan<char> key)
    {
        var family = KeyFamily.Of(key);
        return _bySpan.TryGetValue(family, out var counters) ? counters : Admit(family);
    }

    /// <summary>A family seen for the first time: kept if there is room under the cap, counted as other if not.</summary>
    private FamilyCounters Admit(ReadOnlySpan<char> family)
    {
        // Past the cap, a key of an unknown family costs a failed lookup and this read, no lock.
        if (Volatile.Read(ref _found) >= _maxFound || family.SequenceEqual(KeyFamily.Other))
            return Other();
        lock (_admitting)
        {
            if (_bySpan.TryGetValue(family, out var counters))
                return counters;
            if (_found >= _maxFound)
                return Other();
            var name = family.ToString();
            counters = new FamilyCounters(name);
            _families[name] = counters;
            Volatile.Write(ref _found, _found + 1);
            return counters;
        }
    }

    private FamilyCounters Other() =>
        Volatile.Read(ref _other) ?? (_other = _families.GetOrAdd(KeyFamily.Other, static name => new FamilyCounters(name)));

    /// <summary>Where the first <paramref name="segments"/> segments of a key end.</summary>
    private static int SegmentsEnd(ReadOnlySpan<char> key, int segments)
    {
        var end = -1;
        for (var i = 0; i < segments; i++)
        {
            var next = key[(end + 1)..].IndexOf(':');
            if (next < 0)
                return key.Length;
            end += next + 1;
        }

        return end;
    }
}
