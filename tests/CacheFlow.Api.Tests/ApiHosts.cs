using CacheFlow.Api.Redis;
using Microsoft.Extensions.DependencyInjection;

namespace CacheFlow.Api.Tests;

/// <summary>API hosts on one temp data folder (one SQLite file), disposed together with the folder.</summary>
public sealed class ApiHosts : IAsyncDisposable
{
    private readonly List<ApiFactory> _apis = [];

    public DirectoryInfo Data { get; } = Directory.CreateTempSubdirectory("cacheflow-hosts-");

    /// <summary>A host on the shared data folder, on its own Redis unless <paramref name="redis"/> names one.</summary>
    public ApiFactory Start(string? redis = null, Dictionary<string, string>? settings = null, ScriptedRepository? repository = null)
    {
        var api = new ApiFactory(Data.FullName, redis, settings: settings, repository: repository);
        _apis.Add(api);
        return api;
    }

    /// <summary>A host on <paramref name="first"/>'s embedded servers: its cache's Garnet and its durable data's.</summary>
    public ApiFactory StartBeside(ApiFactory first, Dictionary<string, string>? settings = null)
    {
        var cache = first.Services.GetRequiredService<RedisEndpoint>().Embedded!;
        var durable = first.Services.GetRequiredService<DurableRedis>().Endpoint!.Embedded!;
        return Start($"127.0.0.1:{cache.Port}", new(settings ?? []) { ["ConnectionStrings:DurableRedis"] = $"127.0.0.1:{durable.Port}" });
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var api in _apis)
            await api.DisposeAsync();
        Data.Delete(recursive: true);
    }
}
