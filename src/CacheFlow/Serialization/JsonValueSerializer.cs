using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
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

    public T Deserialize(ReadOnlySequence<byte> source)
    {
        var reader = new Utf8JsonReader(source);
        return JsonSerializer.Deserialize(ref reader, typeInfo)!;
    }

    public void Serialize(T value, IBufferWriter<byte> target)
    {
        // A writer that threw is dropped, not returned.
        var writer = JsonWriters.Rent(target);
        JsonSerializer.Serialize(writer, value, typeInfo);
        JsonWriters.Return(writer);
    }

    /// <summary>The type's metadata from the options' resolver (a source-generated context gives it without reflection).</summary>
    private static JsonTypeInfo<T> TypeInfoOf(JsonSerializerOptions options) => (JsonTypeInfo<T>)JsonOptions.Freeze(options).GetTypeInfo(typeof(T));
}

/// <summary>One JSON writer per thread, reset for each value: a writer is 200 bytes on every load and write otherwise.</summary>
internal static class JsonWriters
{
    [ThreadStatic]
    private static Utf8JsonWriter? _cached;

    public static Utf8JsonWriter Rent(IBufferWriter<byte> target)
    {
        var writer = _cached;
        if (writer is null)
            return new Utf8JsonWriter(target);
        // Taken: a serializer that serialized another value through the cache would get a writer of its own.
        _cached = null;
        writer.Reset(target);
        return writer;
    }

    public static void Return(Utf8JsonWriter writer)
    {
        writer.Flush();
        // Holds no buffer between values.
        writer.Reset();
        _cached = writer;
    }
}
