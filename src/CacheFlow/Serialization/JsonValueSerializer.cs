using System.Buffers;
using System.Text.Json.Serialization.Metadata;
using System.Text.Json;
using CacheFlow.Serialization;
using Microsoft.Extensions.Caching.Hybrid;

namespace CacheFlow.Serialization;

/// <summary>Serializes values as UTF-8 JSON with a type's <see cref="JsonTypeInfo{T}"/> (source-generated when a context gives it).</summary>
/// <typeparam name="T">The type of the values.</typeparam>
internal sealed class JsonValueSerializer<T>(JsonTypeInfo<T> typeInfo) : IHybridCacheSerializer<T>
{
    public JsonValueSerializer(JsonSerializerOptions options)
        : this(TypeInfoOf(options))
    {
    }

    /// <summary>The type's metadata from the options' resolver (a source-generated context gives it without reflection).</summary>
    private static JsonTypeInfo<T> TypeInfoOf(JsonSerializerOptions options) => (JsonTypeInfo<T>)JsonOptions.Freeze(options).GetTypeInfo(typeof(T));

    public T Deserialize(ReadOnlySequence<byte> source)
    {
        var reader = new Utf8JsonReader(source);
        return JsonSerializer.Deserialize(ref reader, typeInfo)!;
    }

    public void Serialize(T value, IBufferWriter<byte> target)
    {
        using var writer = new Utf8JsonWriter(target);
        JsonSerializer.Serialize(writer, value, typeInfo);
    }
}
