using CacheFlow.Api.Data;
using CacheFlow.Api.Redis;
using CacheFlow.Api.Warming;
using CacheFlow.Api.WriteBehind;
using CacheFlow.Redis;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using IServer = Microsoft.AspNetCore.Hosting.Server.IServer;
using StackExchange.Redis;

namespace CacheFlow.Api.Startup;

/// <summary>
/// Before the server takes requests: migrates and seeds the database, connects to Redis (starting the embedded
/// Garnet if that is the one) and seeds the login leaderboard. Once it
/// listens: says which Redis and database it uses, and where the docs are.
/// </summary>
internal sealed class StorageInitializer(
    IUserRepository users, RedisEndpoint redisEndpoint, IConnectionMultiplexer redis, DurableRedis durable, IOptions<StorageOptions> storage,
    LoginCounter logins, IOptions<WarmingOptions> warming,
    IServer server, IHostApplicationLifetime lifetime, ILogger<StorageInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await users.InitializeAsync(storage.Value.SeedUsers, cancellationToken);
        try
        {
            // The leaderboard starts from the database's most active users; logins then count on top of it.
            await logins.SeedAsync(await users.TopByLoginsAsync(Math.Max(warming.Value.TopUsers, 100), cancellationToken));
        }
        catch (Exception ex) when (RedisGuard.IsFailure(ex))
        {
            Log.LeaderboardNotSeeded(logger, ex);
        }

        lifetime.ApplicationStarted.Register(() =>
        {
            var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "(test server)";
            Log.Started(logger, redisEndpoint.Description, redis.IsConnected, durable.Report(), users.Description, address);
        });
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

}
