using CacheFlow.Testing;

namespace CacheFlow.Api.Tests;

/// <summary>
/// What a test class starts for its tests (redis-servers with settings of the test's choosing, API hosts) and a temp
/// data folder, disposed together, the latest first.
/// </summary>
public sealed class TestResources(string name) : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned = [];

    /// <summary>The temp folder for the hosts' data.</summary>
    public DirectoryInfo Data { get; } = Directory.CreateTempSubdirectory(name);

    /// <summary>Disposes <paramref name="resource"/> with the rest.</summary>
    public T Track<T>(T resource)
        where T : IAsyncDisposable
    {
        _owned.Add(resource);
        return resource;
    }

    /// <summary>A throwaway redis-server with these extra arguments (skips, or in CI fails, where none is installed).</summary>
    public Task<RedisServer> RedisAsync(params string[] arguments) => RedisAsync(null, arguments);

    /// <summary>A throwaway redis-server on <paramref name="port"/> if given.</summary>
    public async Task<RedisServer> RedisAsync(int? port, params string[] arguments)
    {
        if (RedisServer.Binary is null)
            ServerRequirement.Unavailable("redis-server is not installed (apt-get install redis-server)");
        return Track(await RedisServer.StartAsync(arguments: arguments, port: port));
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
            await _owned[i].DisposeAsync();
        Data.Delete(recursive: true);
    }
}
