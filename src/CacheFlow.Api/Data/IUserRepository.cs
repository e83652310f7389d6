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

    /// <summary>The users of these ids that exist, in one query.</summary>
    Task<IReadOnlyList<User>> GetManyAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken);

    /// <summary>One page of users ordered by id, with the count of all users.</summary>
    Task<UsersPage> ListAsync(int page, int limit, CancellationToken cancellationToken);

    /// <summary>How many users there are.</summary>
    Task<long> CountAsync(CancellationToken cancellationToken);

    /// <summary>One page of users ordered by id, without the count (the API caches the count on its own).</summary>
    Task<IReadOnlyList<User>> PageAsync(int page, int limit, CancellationToken cancellationToken);

    /// <summary>Which field (<c>username</c> or <c>email</c>) another user already has, or null.</summary>
    Task<string?> FindClashAsync(string username, string email, CancellationToken cancellationToken);

    /// <summary>Inserts a user and returns the row as committed. Throws <see cref="DuplicateUserException"/>.</summary>
    Task<User> CreateAsync(string username, string email, bool isActive, CancellationToken cancellationToken);

    /// <summary>Changes the given fields; returns the row as committed, or null if there is no such user. Throws <see cref="DuplicateUserException"/>.</summary>
    Task<User?> UpdateAsync(long id, string? username, string? email, bool? isActive, CancellationToken cancellationToken);

    /// <summary>Deletes a user; false if there was none.</summary>
    Task<bool> DeleteAsync(long id, CancellationToken cancellationToken);

    /// <summary>
    /// Applies queued creates in one transaction, each at most once: a request id applied before returns the user
    /// it created; a username or email clash, or a value the database refuses, is reported for that create alone and
    /// the others go on.
    /// </summary>
    Task<IReadOnlyList<QueuedCreateOutcome>> ApplyCreatesAsync(IReadOnlyList<QueuedCreate> creates, CancellationToken cancellationToken);

    /// <summary>
    /// Adds login increments, one UPDATE per user, recording <paramref name="batchId"/> in the same transaction;
    /// false (and nothing changed) if that batch was applied before.
    /// </summary>
    Task<bool> ApplyLoginsAsync(string batchId, IReadOnlyDictionary<long, long> increments, CancellationToken cancellationToken);

    /// <summary>
    /// Claims, for <paramref name="duration"/>, the oldest unclaimed changes of users recorded in the cache outbox (by
    /// the database, in the change's transaction) with ids up to <paramref name="upTo"/>, at most
    /// <paramref name="limit"/>, and returns them. A row is claimed by one relay at a time; a claim that ran out (its
    /// relay died or hung) may be taken by another.
    /// </summary>
    /// <param name="claim">A token of this claim alone.</param>
    /// <param name="upTo">The newest outbox id to claim.</param>
    /// <param name="limit">The most rows to claim.</param>
    /// <param name="duration">How long the claim holds.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<IReadOnlyList<OutboxEntry>> ClaimOutboxAsync(string claim, long upTo, int limit, TimeSpan duration, CancellationToken cancellationToken);

    /// <summary>Deletes the outbox rows still held by <paramref name="claim"/> (their invalidations were applied); returns how many.</summary>
    Task<int> ForgetOutboxAsync(string claim, CancellationToken cancellationToken);

    /// <summary>Gives the rows held by <paramref name="claim"/> back unapplied, for any relay's next claim.</summary>
    Task ReleaseOutboxAsync(string claim, CancellationToken cancellationToken);

    /// <summary>The newest outbox id (0 if none).</summary>
    Task<long> OutboxHorizonAsync(CancellationToken cancellationToken);

    /// <summary>Every user with a change in the outbox, claimed or not.</summary>
    Task<IReadOnlyList<long>> OutboxUsersAsync(CancellationToken cancellationToken);

    /// <summary>The users with the most logins, most first.</summary>
    Task<IReadOnlyList<User>> TopByLoginsAsync(int limit, CancellationToken cancellationToken);
}

/// <summary>A change of a user, recorded in the cache outbox until its invalidation is applied.</summary>
/// <param name="Id">The outbox row's id (increasing).</param>
/// <param name="UserId">The user that changed.</param>
public sealed record OutboxEntry(long Id, long UserId);

/// <summary>A create accepted by <c>POST /users/async</c>, to apply once.</summary>
/// <param name="RequestId">The idempotency key.</param>
/// <param name="Username">The username.</param>
/// <param name="Email">The email address, normalized.</param>
/// <param name="IsActive">Whether the account is active.</param>
public sealed record QueuedCreate(string RequestId, string Username, string Email, bool IsActive);

/// <summary>What applying a queued create did.</summary>
/// <param name="RequestId">The create's request id.</param>
/// <param name="User">The user it created (now or before); null if it clashed, or if the user was deleted since.</param>
/// <param name="DuplicateField">The field that clashed with another user, if it did.</param>
/// <param name="Refused">Whether the database refused a value of this create (too long, a character it cannot store).</param>
public sealed record QueuedCreateOutcome(string RequestId, User? User, string? DuplicateField, bool Refused = false);
