using System.ComponentModel;

namespace CacheFlow.Api.Users;

/// <summary>One page of users ordered by id.</summary>
/// <param name="Users">The users on the page.</param>
/// <param name="Page">The page number, from 1.</param>
/// <param name="Limit">The page size.</param>
/// <param name="Total">How many users there are in all.</param>
[ImmutableObject(true)]
public sealed record UsersPage(IReadOnlyList<User> Users, int Page, int Limit, long Total);
