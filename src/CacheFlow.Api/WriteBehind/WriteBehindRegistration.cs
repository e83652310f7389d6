using CacheFlow.Api.Redis;
using CacheFlow.WriteBehind;
using Microsoft.Extensions.Options;

namespace CacheFlow.Api.WriteBehind;

/// <summary>Registers write-behind: the durable queue of creates, its flusher, and the coalesced login counts.</summary>
internal static class WriteBehindRegistration
{
    /// <summary>
    /// The queue <c>users</c> in Redis, on the durable data's connection and guard and under the durable key prefix
    /// (<c>WriteBehind</c> options), a flusher per instance, and login counts (<c>Logins</c> options).
    /// </summary>
    public static IServiceCollection AddWriteBehind(this IServiceCollection services)
    {
        services.AddOptions<WriteBehindOptions>().BindConfiguration("WriteBehind").ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<LoginOptions>().BindConfiguration("Logins").ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp => new WriteBehindQueue(
            sp.GetRequiredService<DurableRedis>().Connection, sp.GetRequiredService<IOptions<CacheFlowOptions>>().Value.DurableKeyPrefix, "users",
            sp.GetRequiredService<IOptions<WriteBehindOptions>>().Value, TimeProvider.System, sp.GetService<System.Diagnostics.Metrics.IMeterFactory>(),
            sp.GetRequiredService<DurableRedis>().Guard));
        services.AddSingleton<LoginCounter>();
        services.AddHostedService<WriteBehindFlusher>();
        return services;
    }
}
