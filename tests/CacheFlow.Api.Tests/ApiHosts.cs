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

    public async ValueTask DisposeAsync()
    {
        foreach (var api in _apis)
            await api.DisposeAsync();
        Data.Delete(recursive: true);
    }
}
