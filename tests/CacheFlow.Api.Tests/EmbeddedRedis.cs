using CacheFlow.Garnet;
using StackExchange.Redis;

namespace CacheFlow.Api.Tests;

/// <summary>An embedded Garnet in a temp folder and one connection to it, shared by a test class.</summary>
public sealed class EmbeddedRedis : IAsyncLifetime
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("cacheflow-vary-");
    private EmbeddedGarnet? _garnet;
    private ConnectionMultiplexer? _redis;

    public IConnectionMultiplexer Redis => _redis!;

    public async ValueTask InitializeAsync()
    {
        _garnet = EmbeddedGarnet.Start(_directory.FullName);
        _redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{_garnet.Port},allowAdmin=true");
    }

    /// <summary>The keys under <paramref name="prefix"/>, as Redis holds them.</summary>
    public async Task<List<string>> KeysAsync(string prefix)
    {
        var keys = new List<string>();
        await foreach (var key in Redis.GetServers()[0].KeysAsync(pattern: prefix + "*"))
            keys.Add(key.ToString());
        return keys;
    }

    public async ValueTask DisposeAsync()
    {
        if (_redis is not null)
            await _redis.DisposeAsync();
        _garnet?.Dispose();
        _directory.Delete(recursive: true);
    }
}
