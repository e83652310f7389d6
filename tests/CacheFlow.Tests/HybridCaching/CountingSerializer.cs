using System.Buffers;
using System.Text;
using Microsoft.Extensions.Caching.Hybrid;

namespace CacheFlow.Tests.HybridCaching;

/// <summary>A serializer for <see cref="Custom"/> that counts its calls and marks what it writes, so a test can see it was used.</summary>
public sealed class CountingSerializer : IHybridCacheSerializer<Custom>
{
    public const string Mark = "counted:";

    private int _serialized;
    private int _deserialized;

    public int Serialized => Volatile.Read(ref _serialized);

    public int Deserialized => Volatile.Read(ref _deserialized);

    public void Serialize(Custom value, IBufferWriter<byte> target)
    {
        Interlocked.Increment(ref _serialized);
        target.Write(Encoding.UTF8.GetBytes(Mark + value.Text));
    }

    public Custom Deserialize(ReadOnlySequence<byte> source)
    {
        Interlocked.Increment(ref _deserialized);
        // What it read back carries its mark: proof the bytes in the L2 were its own.
        return new Custom { Text = Encoding.UTF8.GetString(source.ToArray()) };
    }
}

/// <summary>A serializer factory that hands out <see cref="CountingSerializer"/> for <see cref="Custom"/> and nothing else.</summary>
public sealed class CountingSerializerFactory : IHybridCacheSerializerFactory
{
    public CountingSerializer Serializer { get; } = new();

    public bool TryCreateSerializer<T>(out IHybridCacheSerializer<T> serializer)
    {
        if (typeof(T) == typeof(Custom))
        {
            serializer = (IHybridCacheSerializer<T>)(object)Serializer;
            return true;
        }

        serializer = null!;
        return false;
    }
}
