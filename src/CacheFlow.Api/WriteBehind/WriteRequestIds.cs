namespace CacheFlow.Api.WriteBehind;

/// <summary>
/// The ids of queued writes, as <c>POST /users/async</c> gives them: a version 7 GUID in 32 lower-case hex digits.
/// Anything else is no write's id, and is answered without asking Redis.
/// </summary>
internal static class WriteRequestIds
{
    /// <summary>The pattern the OpenAPI document gives them (it also tells <c>/users/async/{requestId}</c> from <c>/users/{id}/logins</c>).</summary>
    public const string Pattern = "^[0-9a-f]{32}$";

    /// <summary>A new id.</summary>
    public static string Create() => Guid.CreateVersion7().ToString("N");

    /// <summary>Whether <paramref name="text"/> can be a write's id.</summary>
    public static bool IsWellFormed(string text) => text.Length == 32 && text.All(char.IsAsciiHexDigitLower);
}
