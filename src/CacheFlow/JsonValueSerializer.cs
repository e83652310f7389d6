using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Caching.Hybrid;

namespace CacheFlow;

/// <summary>Serializes values as UTF-8 JSON with a type's <see cref="JsonTypeInfo{T}"/> (source-generated when a context gives it).</summary>
/// <typeparam name="T">The type of the values.</typeparam>
internal sealed class JsonValueSerializer<T>(JsonTypeInfo<T> typeInfo) : IHybridCacheSerializer<T>
{
    public JsonValueSerializer(JsonSerializerOptions options)
        : this(TypeInfoOf(options))
    {
    }

    /// <summary>
    /// The type's metadata from the options' resolver (a source-generated context gives it without reflection). Options
    /// without a resolver get the reflection-based one, as a first serialization would give them, only where
    /// reflection-based serialization is enabled: in a trimmed or native AOT application they must name a context.
    /// </summary>
    private static JsonTypeInfo<T> TypeInfoOf(JsonSerializerOptions options)
    {
        if (!options.IsReadOnly)
        {
            if (options.TypeInfoResolver is null)
            {
                if (!JsonSerializer.IsReflectionEnabledByDefault)
                {
                    throw new InvalidOperationException(
                        $"{nameof(CacheFlowOptions)}.{nameof(CacheFlowOptions.SerializerOptions)} has no TypeInfoResolver and reflection-based JSON is off " +
                        $"(a trimmed or native AOT application): set one, a JsonSerializerContext that covers {typeof(T)}.");
                }

                options.TypeInfoResolver = ReflectionResolver();
            }

            options.MakeReadOnly();
        }

        return (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));
    }

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Reached only where JsonSerializer.IsReflectionEnabledByDefault, which trimming turns off.")]
    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "Reached only where JsonSerializer.IsReflectionEnabledByDefault, which native AOT turns off.")]
    private static DefaultJsonTypeInfoResolver ReflectionResolver() => new();

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
