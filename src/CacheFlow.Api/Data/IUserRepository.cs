using CacheFlow.Api.Users;

namespace CacheFlow.Api.Data;

/// <summary>Where users are stored: PostgreSQL, or SQLite as the embedded default.</summary>
public interface IUserRepository
{
    /// <summary>A short description for logs: the provider and where it is.</summary>
    string Description { get; }

    /// <summary>Creates or upgrades the schema, then seeds demo users into an empty table.</summary>
    Task InitializeAsync(int seedUsers, CancellationToken cancellationToken);

    /// <summary>Checks the database answers.</summary>
    Task PingAsync(CancellationToken cancellationToken);

    /// <summary>One user, or null.</summary>
    Task<User?> GetAsync(long id, CancellationToken cancellationToken);

    /// <summary>One page of users ordered by id, with the count of all users.</summary>
    Task<UsersPage> ListAsync(int page, int limit, CancellationToken cancellationToken);

    /// <summary>Inserts a user and returns the row as committed. Throws <see cref="DuplicateUserException"/>.</summary>
    Task<User> CreateAsync(string username, string email, bool isActive, CancellationToken cancellationToken);

    /// <summary>Changes the given fields; returns the row as committed, or null if there is no such user. Throws <see cref="DuplicateUserException"/>.</summary>
    Task<User?> UpdateAsync(long id, string? username, string? email, bool? isActive, CancellationToken cancellationToken);

    /// <summary>Deletes a user; false if there was none.</summary>
    Task<bool> DeleteAsync(long id, CancellationToken cancellationToken);
}
