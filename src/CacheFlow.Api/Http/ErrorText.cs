namespace CacheFlow.Api.Http;

/// <summary>How client input is quoted back in an error: short, so an error never echoes a large input.</summary>
internal static class ErrorText
{
    /// <summary>The most characters of the client's input an error repeats.</summary>
    public const int MaxEcho = 64;

    /// <summary><paramref name="input"/>, cut to <see cref="MaxEcho"/> characters with an ellipsis.</summary>
    public static string Truncate(string input) => input.Length <= MaxEcho ? input : string.Concat(input.AsSpan(0, MaxEcho), "…");
}
