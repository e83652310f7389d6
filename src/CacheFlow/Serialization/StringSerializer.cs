using System.Buffers;
using System.Text;
using Microsoft.Extensions.Caching.Hybrid;

namespace CacheFlow.Serialization;

/// <summary>Stores a string as its UTF-8 bytes, not as JSON, as HybridCache's built-in serializer does.</summary>
internal sealed class StringSerializer : IHybridCacheSerializer<string>
{
    public static readonly StringSerializer Instance = new();

    public string Deserialize(ReadOnlySequence<byte> source) => Encoding.UTF8.GetString(source);

    public void Serialize(string value, IBufferWriter<byte> target) => Encoding.UTF8.GetBytes(value, target);
}
