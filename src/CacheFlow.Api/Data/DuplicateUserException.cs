namespace CacheFlow.Api.Data;

/// <summary>A write would give two users the same username or email.</summary>
/// <param name="field">The JSON name of the field that clashed: <c>username</c> or <c>email</c>.</param>
/// <param name="innerException">The database's unique-constraint error.</param>
public sealed class DuplicateUserException(string field, Exception innerException)
    : Exception($"Another user already has this {field}.", innerException)
{
    /// <summary>The field that clashed.</summary>
    public string Field { get; } = field;
}
