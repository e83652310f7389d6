using System.Text.Json.Serialization;
using CacheFlow.Api.Http;

namespace CacheFlow.Api.Users;

/// <summary>The body of <c>POST /users</c> and <c>POST /users/async</c>: no other field, none twice, none null.</summary>
/// <param name="Username">3 to 32 letters, digits, '.', '_' or '-'; unique.</param>
/// <param name="Email">An email address; unique.</param>
/// <param name="IsActive">Whether the account is active; true when left out.</param>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record CreateUserRequest(
    [property: JsonConverter(typeof(NonNullFieldConverter<string>))] string? Username,
    [property: JsonConverter(typeof(NonNullFieldConverter<string>))] string? Email,
    [property: JsonConverter(typeof(NonNullFieldConverter<bool?>))] bool? IsActive);

/// <summary>The body of <c>PATCH /users/{id}</c>: the fields to change, at least one; no other field, none twice, none null.</summary>
/// <param name="Username">A new username.</param>
/// <param name="Email">A new email address.</param>
/// <param name="IsActive">A new active flag.</param>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record UpdateUserRequest(
    [property: JsonConverter(typeof(NonNullFieldConverter<string>))] string? Username,
    [property: JsonConverter(typeof(NonNullFieldConverter<string>))] string? Email,
    [property: JsonConverter(typeof(NonNullFieldConverter<bool?>))] bool? IsActive);
