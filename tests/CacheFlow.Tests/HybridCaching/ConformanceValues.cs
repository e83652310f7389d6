using System.ComponentModel;
using System.Text.Json.Serialization;

namespace CacheFlow.Tests.HybridCaching;

/// <summary>A sealed type marked immutable: HybridCache may hand the same instance to every L1 hit.</summary>
[ImmutableObject(true)]
public sealed record Frozen(int Id, string Name);

/// <summary>A mutable type: every read must get an instance of its own, so one caller's change reaches no other.</summary>
public sealed class Mutable
{
    public int Id { get; set; }

    public string Name { get; set; } = "";

    public byte[] Payload { get; set; } = [];
}

/// <summary>A type whose L2 round trip shows System.Text.Json at work: the ignored property does not survive it.</summary>
public sealed class JsonShaped
{
    public int Kept { get; set; }

    [JsonIgnore]
    public string? Ignored { get; set; }
}

/// <summary>A type the serialization tests give a serializer of their own.</summary>
public sealed class Custom
{
    public string Text { get; set; } = "";
}

/// <summary>A factory that counts its calls and returns what <paramref name="produce"/> makes of the call's number.</summary>
public sealed class CountingFactory<T>(Func<int, T> produce)
{
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public ValueTask<T> CreateAsync(CancellationToken cancellationToken) => new(produce(Interlocked.Increment(ref _calls)));
}

/// <summary>Data in public fields only: System.Text.Json leaves fields out unless told otherwise.</summary>
public sealed class FieldsOnly
{
    public int X;

    public string Y = "";
}

/// <summary>A property and a field: by System.Text.Json's own rule the field does not survive the L2.</summary>
public sealed class PropertyAndField
{
    public int Field;

    public string Property { get; set; } = "";
}

/// <summary>A value-tuple inside a property: the holder has properties, its data is in fields.</summary>
public sealed class TupleHolder
{
    public (int Id, string Name) Pair { get; set; }
}
