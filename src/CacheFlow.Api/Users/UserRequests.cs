namespace CacheFlow.Api.Users;

/// <summary>The body of <c>POST /users</c>.</summary>
/// <param name="Username">3 to 32 letters, digits, '.', '_' or '-'; unique.</param>
/// <param name="Email">An email address; unique.</param>
/// <param name="IsActive">Whether the account is active; true when left out.</param>
public sealed record CreateUserRequest(string? Username, string? Email, bool? IsActive);

/// <summary>The body of <c>PATCH /users/{id}</c>: the fields to change, at least one.</summary>
/// <param name="Username">A new username.</param>
/// <param name="Email">A new email address.</param>
/// <param name="IsActive">A new active flag.</param>
public sealed record UpdateUserRequest(string? Username, string? Email, bool? IsActive);
