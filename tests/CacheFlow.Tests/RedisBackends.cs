using CacheFlow.Garnet;
using CacheFlow.Testing;
using StackExchange.Redis;

namespace CacheFlow.Tests;

/// <summary>A Redis-protocol server the cache suite runs against.</summary>
public interface IRedisBackend
{
    /// <summary>The shared connection; skips (or, in CI, fails) the test if the server is missing.</summary>
    IConnectionMultiplexer Redis { get; }

    /// <summary>A connection of its own, as another process would have.</summary>
    Task<ConnectionMultiplexer> ConnectAsync();
}

/// <summary>An embedded Garnet in a temp folder: always available.</summary>
public sealed class GarnetBackend : IRedisBackend, IAsyncLifetime
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("cacheflow-garnet-");
    private EmbeddedGarnet? _garnet;
    private ConnectionMultiplexer? _redis;

    public IConnectionMultiplexer Redis => _redis!;

    public async ValueTask InitializeAsync()
    {
        _garnet = EmbeddedGarnet.Start(_directory.FullName);
        _redis = await ConnectAsync();
    }

    public Task<ConnectionMultiplexer> ConnectAsync() => ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{_garnet!.Port},allowAdmin=true");

    public async ValueTask DisposeAsync()
    {
        if (_redis is not null)
            await _redis.DisposeAsync();
        _garnet?.Dispose();
        _directory.Delete(recursive: true);
    }
}

/// <summary>A throwaway redis-server, when one is installed.</summary>
public sealed class RealRedisBackend : IRedisBackend, IAsyncLifetime
{
    private RedisServer? _server;
    private ConnectionMultiplexer? _redis;

    /// <summary>The server itself, to hang (<c>kill -STOP</c>) and let go; a test class that does takes a backend of its own.</summary>
    public RedisServer Server
    {
        get
        {
            if (_server is null)
                ServerRequirement.Unavailable("redis-server is not installed (apt-get install redis-server)");
            return _server!;
        }
    }

    public IConnectionMultiplexer Redis
    {
        get
        {
            if (_redis is null)
                ServerRequirement.Unavailable("redis-server is not installed (apt-get install redis-server)");
            return _redis!;
        }
    }

    public Task<ConnectionMultiplexer> ConnectAsync() => Task.FromResult(_server!.Connect());

    public async ValueTask InitializeAsync()
    {
        if (RedisServer.Binary is null)
            return;
        _server = await RedisServer.StartAsync();
        _redis = _server.Connect();
    }

    public async ValueTask DisposeAsync()
    {
        if (_redis is not null)
            await _redis.DisposeAsync();
        if (_server is not null)
            await _server.DisposeAsync();
    }
}

/// <summary>A throwaway three-primary Redis Cluster, when redis-server and redis-cli are installed.</summary>
public sealed class ClusterBackend : IRedisBackend, IAsyncLifetime
{
    private RedisCluster? _cluster;
    private ConnectionMultiplexer? _redis;

    public IConnectionMultiplexer Redis
    {
        get
        {
            if (_redis is null)
                ServerRequirement.Unavailable("redis-server and redis-cli are not installed (apt-get install redis-server)");
            return _redis!;
        }
    }

    public Task<ConnectionMultiplexer> ConnectAsync() => Task.FromResult(_cluster!.Connect());

    public async ValueTask InitializeAsync()
    {
        if (!RedisCluster.Available)
            return;
        _cluster = await RedisCluster.StartAsync();
        _redis = _cluster.Connect();
    }

    public async ValueTask DisposeAsync()
    {
        if (_redis is not null)
            await _redis.DisposeAsync();
        if (_cluster is not null)
            await _cluster.DisposeAsync();
    }
}
