using CacheFlow.Api.Data;
using CacheFlow.Api.WriteBehind;
using CacheFlow.Redis;

namespace CacheFlow.Api.Users;

/// <summary>
/// Loads a user for the cache: the database row with its live login count from the leaderboard (the database gets
/// login increments behind, so the leaderboard may be ahead of it).
/// </summary>
public sealed class UserReader(IUserRepository users, LoginCounter logins)
{
    /// <summary>The user, or null.</summary>
    public async ValueTask<User?> LoadAsync(long id, CancellationToken cancellationToken)
    {
        var user = await users.GetAsync(id, cancellationToken);
        if (user is null)
            return null;
        long? live;
        try
        {
            live = await logins.CountAsync(id);
        }
        catch (Exception ex) when (RedisGuard.IsFailure(ex))
        {
            // Redis is down or hung (the guard bounds the wait, or refuses at once while its circuit is open): the
            // database's count is the best there is.
            live = null;
        }

        return live > user.LoginCount ? user with { LoginCount = live.Value } : user;
    }

    /// <summary>The users of these ids that exist (one query), each with its live login count.</summary>
    public async ValueTask<IReadOnlyDictionary<long, User>> LoadManyAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken)
    {
        var found = await users.GetManyAsync(ids, cancellationToken);
        var live = await Task.WhenAll(found.Select(async user =>
        {
            try
            {
                return await logins.CountAsync(user.Id);
            }
            catch (Exception ex) when (RedisGuard.IsFailure(ex))
            {
                return null;
            }
        }));
        return found.Select((user, i) => live[i] > user.LoginCount ? user with { LoginCount = live[i]!.Value } : user).ToDictionary(u => u.Id);
    }
}
