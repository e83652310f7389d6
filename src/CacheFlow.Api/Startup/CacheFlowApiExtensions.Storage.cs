using CacheFlow.Api.Data;
using CacheFlow.Api.Redis;
using CacheFlow.Api.Startup;
using CacheFlow.Api.Users;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Microsoft.AspNetCore.Builder;

public static partial class CacheFlowApiExtensions
{
    /// <summary>
    /// The cache's Redis, the durable data's, the users database, and what makes them ready before the first request:
    /// <see cref="StorageInitializer"/>, then the outbox relay.
    /// </summary>
    private static void AddStorage(WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.AddOptions<StorageOptions>().BindConfiguration("Storage").ValidateDataAnnotations().ValidateOnStart();

        services.AddSingleton(_ => RedisEndpoint.Create(configuration.GetConnectionString("Redis")));
        services.AddSingleton<IConnectionMultiplexer>(sp => sp.GetRequiredService<RedisEndpoint>().Connect());
        // Durable data on ConnectionStrings:DurableRedis, an embedded Garnet of its own beside an embedded cache, or
        // the same Redis; checked before the storage starts.
        services.AddDurableRedis(configuration, DataDirectory);
        services.AddOptions<DatabaseOptions>().BindConfiguration("Database").ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IUserRepository>(sp =>
        {
            var timeout = sp.GetRequiredService<IOptions<DatabaseOptions>>().Value.Timeout;
            return configuration.GetConnectionString("Users") is { Length: > 0 } users
                ? new PostgresUserRepository(users, TimeProvider.System, timeout)
                : new SqliteUserRepository(Path.Combine(Directory.CreateDirectory(DataDirectory(sp)).FullName, "users.db"), TimeProvider.System, timeout);
        });
        services.AddHostedService<StorageInitializer>();
        // After the storage is ready and before requests: changes a crashed instance recorded are applied (or kept pending).
        services.AddOptions<OutboxOptions>().BindConfiguration("Outbox").ValidateDataAnnotations().ValidateOnStart();
        services.AddHostedService<UserInvalidationRelay>();
    }

    private static string DataDirectory(IServiceProvider services) =>
        Path.GetFullPath(services.GetRequiredService<IOptions<StorageOptions>>().Value.DataDirectory,
            services.GetRequiredService<IHostEnvironment>().ContentRootPath);
}
