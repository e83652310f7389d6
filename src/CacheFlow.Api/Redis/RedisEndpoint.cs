using CacheFlow.Garnet;
using StackExchange.Redis;

namespace CacheFlow.Api.Redis;

/// <summary>The Redis the API uses: the configured server, or an embedded Garnet it owns.</summary>
public sealed class RedisEndpoint : IDisposable
{
    private RedisEndpoint(string configuration, EmbeddedGarnet? embedded)
    {
        Configuration = configuration;
        Embedded = embedded;
    }

    /// <summary>The StackExchange.Redis configuration string.</summary>
    public string Configuration { get; }

    /// <summary>The embedded server, when no Redis is configured.</summary>
    public EmbeddedGarnet? Embedded { get; }

    /// <summary>A short description for logs.</summary>
    public string Description => Embedded is { } garnet
        ? $"embedded Garnet at 127.0.0.1:{garnet.Port} ({(garnet.Directory is { } directory ? $"data in {directory}" : "memory only")})"
        : $"Redis at {ConfigurationOptions.Parse(Configuration).EndPoints.FirstOrDefault()}";

    /// <summary>The cache's Redis: <paramref name="connectionString"/> if set, otherwise an embedded Garnet in memory only.</summary>
    public static RedisEndpoint Create(string? connectionString)
    {
        if (!string.IsNullOrWhiteSpace(connectionString))
            return new RedisEndpoint(connectionString, null);
        var garnet = EmbeddedGarnet.StartCache();
        return new RedisEndpoint($"127.0.0.1:{garnet.Port}", garnet);
    }

    /// <summary>An embedded Garnet for durable data, persisting under <paramref name="dataDirectory"/>.</summary>
    public static RedisEndpoint CreateDurable(string dataDirectory)
    {
        var garnet = EmbeddedGarnet.Start(dataDirectory);
        return new RedisEndpoint($"127.0.0.1:{garnet.Port}", garnet);
    }

    /// <summary>Connects. The connection never gives up (it reconnects by itself) and fails fast while down, so a
    /// dead Redis costs a request an exception, not a queued wait.</summary>
    public ConnectionMultiplexer Connect()
    {
        var options = ConfigurationOptions.Parse(Configuration);
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.ClientName ??= "cacheflow-api";
        // INFO and DBSIZE (for /cache/stats) are admin commands to StackExchange.Redis.
        options.AllowAdmin = true;
        // StackExchange.Redis sends a SELECT after every MULTI/EXEC to restore the database (its issue #1988): one
        // command more per login and per queued write. On database 0, all the API uses, that SELECT has nothing to do.
        if (options.DefaultDatabase is null or 0 && ReferenceEquals(options.CommandMap, CommandMap.Default))
            options.CommandMap = CommandMap.Create(["SELECT"], available: false);
        return ConnectionMultiplexer.Connect(options);
    }

    /// <inheritdoc />
    public void Dispose() => Embedded?.Dispose();
}
