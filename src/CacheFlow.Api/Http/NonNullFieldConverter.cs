using System.Text.Json;
using System.Text.Json.Serialization;

namespace CacheFlow.Api.Http;

/// <summary>
/// Refuses an explicit <c>null</c> for an optional field of a request body: a field is given with a value of its type
/// or left out, as the OpenAPI document says (<c>"is_active": null</c> was read as left out, and stored as true).
/// Anything else is read by the type's own converter, inside this read, so its errors keep the field's path.
/// </summary>
/// <typeparam name="T">The field's type (nullable in C#: left out is null).</typeparam>
internal sealed class NonNullFieldConverter<T> : JsonConverter<T>
{
    public override bool HandleNull => true;

    public override T? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Null
            ? throw new NullFieldException()
            : Inner(options).Read(ref reader, typeToConvert, options);

    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
    {
        if (value is null)
            writer.WriteNullValue();
        else
            Inner(options).Write(writer, value, options);
    }

    private static JsonConverter<T> Inner(JsonSerializerOptions options) => (JsonConverter<T>)options.GetConverter(typeof(T));
}
