using System.Buffers;
using Microsoft.Extensions.Caching.Hybrid;

namespace CacheFlow.Serialization;

/// <summary>Stores a byte array as it is, not as base64 JSON, as HybridCache's built-in serializer does.</summary>
internal sealed class BytesSerializer : IHybridCacheSerializer<byte[]>
{
    public static readonly BytesSerializer Instance = new();

    public byte[] Deserialize(ReadOnlySequence<byte> source) => source.ToArray();

    public void Serialize(byte[] value, IBufferWriter<byte> target) => target.Write(value);
}
