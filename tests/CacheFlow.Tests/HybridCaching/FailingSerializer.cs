using System.Buffers;
using System.ComponentModel;
using System.Text;
using Microsoft.Extensions.Caching.Hybrid;

namespace CacheFlow.Tests.HybridCaching;

/// <summary>A value whose text tells its serializer to fail: "write fail" on serializing, "read fail" on deserializing.</summary>
public sealed class Fragile
{
    public string Text { get; set; } = "";
}

/// <summary>The immutable counterpart of <see cref="Fragile"/>.</summary>
[ImmutableObject(true)]
public sealed record FrozenFragile(string Text);

/// <summary>Thrown by <see cref="FailingSerializer"/>: a failure the caller must see as it is.</summary>
public sealed class KnownFailureException(string message) : Exception(message);

/// <summary>
/// Serializes <see cref="Fragile"/> and <see cref="FrozenFragile"/> as their text, counting its calls, and fails where
/// the text says so.
/// </summary>
public sealed class FailingSerializer : IHybridCacheSerializer<Fragile>, IHybridCacheSerializer<FrozenFragile>
{
    private int _serialized;
    private int _deserialized;

    public int Serialized => Volatile.Read(ref _serialized);

    public int Deserialized => Volatile.Read(ref _deserialized);

    public void Serialize(Fragile value, IBufferWriter<byte> target) => Write(value.Text, target);

    public void Serialize(FrozenFragile value, IBufferWriter<byte> target) => Write(value.Text, target);

    Fragile IHybridCacheSerializer<Fragile>.Deserialize(ReadOnlySequence<byte> source) => new() { Text = Read(source) };

    FrozenFragile IHybridCacheSerializer<FrozenFragile>.Deserialize(ReadOnlySequence<byte> source) => new(Read(source));

    private void Write(string text, IBufferWriter<byte> target)
    {
        Interlocked.Increment(ref _serialized);
        if (text == "write fail")
            throw new KnownFailureException("write failure");
        target.Write(Encoding.UTF8.GetBytes(text));
    }

    private string Read(ReadOnlySequence<byte> source)
    {
        Interlocked.Increment(ref _deserialized);
        var text = Encoding.UTF8.GetString(source.ToArray());
        return text == "read fail" ? throw new KnownFailureException("read failure") : text;
    }
}
