using System.ComponentModel;

namespace CacheFlow.Api.Users;

/// <summary>
/// A user, as stored and as returned by the API. Immutable (sealed, init-only), and marked so: a HybridCache-style L1
/// shares one instance among its readers instead of copying it.
/// </summary>
[ImmutableObject(true)]
public sealed record User
{
    /// <summary>The database id.</summary>
    public long Id { get; init; }

    /// <summary>The unique login name.</summary>
    public required string Username { get; init; }

    /// <summary>The unique email address, lower-cased.</summary>
    public required string Email { get; init; }

    /// <summary>Whether the account is active.</summary>
    public bool IsActive { get; init; }

    /// <summary>How many times the user logged in.</summary>
    public long LoginCount { get; init; }

    /// <summary>When the user was created (UTC).</summary>
    public DateTime CreatedAt { get; init; }
}
