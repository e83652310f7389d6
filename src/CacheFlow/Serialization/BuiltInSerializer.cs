using Microsoft.Extensions.Caching.Hybrid;

namespace CacheFlow.Serialization;

/// <summary>
/// The serializer HybridCache has built in for <typeparamref name="T"/>: <see cref="StringSerializer"/> for strings,
/// <see cref="BytesSerializer"/> for byte arrays, none for any other type (those are JSON). Decided once per type.
/// </summary>
internal static class BuiltInSerializer<T>
{
    public static readonly IHybridCacheSerializer<T>? Instance =
        typeof(T) == typeof(string) ? (IHybridCacheSerializer<T>)(object)StringSerializer.Instance
        : typeof(T) == typeof(byte[]) ? (IHybridCacheSerializer<T>)(object)BytesSerializer.Instance
        : null;
}
