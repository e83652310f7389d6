using System.Text.Json;

namespace CacheFlow.Api.Http;

/// <summary>
/// A request body gave a field as <c>null</c> (<see cref="NonNullFieldConverter{T}"/>); the serializer adds the
/// field's path, and <see cref="BadRequestExceptionHandler"/> names it in the 400.
/// </summary>
internal sealed class NullFieldException() : JsonException("A field is null; give it a value or leave it out.");
