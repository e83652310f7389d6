using CacheFlow.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CacheFlow.Api.Tests;

/// <summary>The API over one Redis and one database.</summary>
public interface IApiStack
{
    /// <summary>The running API; skips (or, in CI, fails) the test if a server it needs is missing.</summary>
    ApiFactory Api { get; }

    /// <summary>What <c>redis_stats.server</c> should say.</summary>
    string RedisServerName { get; }
}

/// <summary>The API in-process, configured like a user would: a data folder, optional connection strings.</summary>
public sealed class ApiFactory(
    string dataDirectory, string? redis = null, string? users = null, IReadOnlyDictionary<string, string>? settings = null, ScriptedRepository? repository = null,
    CapturingLoggerProvider? logs = null, Action<IServiceCollection>? services = null)
    : WebApplicationFactory<Program>
{
    public const int SeedUsers = 60;

    public const string AdminKey = "test-admin-key";

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Storage:DataDirectory", dataDirectory);
        builder.UseSetting("Storage:SeedUsers", SeedUsers.ToString(System.Globalization.CultureInfo.InvariantCulture));
        // Tests see cold caches unless they ask for warming; a fixed admin key; quick write-behind for short tests.
        builder.UseSetting("Warming:OnStartup", "false");
        builder.UseSetting("Admin:ApiKey", AdminKey);
        builder.UseSetting("WriteBehind:FlushInterval", "00:00:00.020");
        builder.UseSetting("Logins:FlushInterval", "00:00:00.100");
        // A generous Redis timeout: the suites and the servers share two cores, and a call slower than the default
        // second would bypass the cache in a test that is not about timeouts (those about faults set their own).
        builder.UseSetting("CacheFlow:RedisTimeout", "00:00:05");
        // Every test request comes from one address; the rate limits have tests of their own, which turn them on.
        builder.UseSetting("RateLimits:Enabled", "false");
        // The relay applies each outbox row a tick or two after its change, invalidating the user and every list page
        // again: a test that reads MISS then HIT would see a MISS whenever a tick fell between its two reads. The
        // relay's own tests set their interval.
        builder.UseSetting("Outbox:Interval", "00:10:00");
        if (redis is not null)
            builder.UseSetting("ConnectionStrings:Redis", redis);
        if (users is not null)
            builder.UseSetting("ConnectionStrings:Users", users);
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
            builder.UseSetting(key, value);
        if (repository is not null)
            builder.ConfigureTestServices(services => repository.Decorate(services));
        if (logs is not null)
            builder.ConfigureLogging(logging => logging.AddProvider(logs));
        if (services is not null)
            builder.ConfigureTestServices(services);
    }

    /// <summary>A client that sends the admin key.</summary>
    public HttpClient CreateAdminClient()
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", AdminKey);
        return client;
    }
}

/// <summary>The embedded defaults: Garnet in-process and a SQLite file, in a temp data folder.</summary>
public sealed class EmbeddedStack : IApiStack, IAsyncLifetime
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("cacheflow-api-");

    public ApiFactory Api { get; private set; } = null!;

    public string RedisServerName => "garnet";

    public ValueTask InitializeAsync()
    {
        Api = new ApiFactory(_data.FullName);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await Api.DisposeAsync();
        _data.Delete(recursive: true);
    }
}

/// <summary>Real servers: a throwaway redis-server and PostgreSQL cluster, when installed.</summary>
public sealed class ServerStack : IApiStack, IAsyncLifetime
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("cacheflow-api-");
    private RedisServer? _redis;
    private PostgresServer? _postgres;
    private ApiFactory? _api;

    public ApiFactory Api
    {
        get
        {
            if (_api is null)
                ServerRequirement.Unavailable("redis-server and PostgreSQL are not both installed (apt-get install redis-server postgresql)");
            return _api!;
        }
    }

    public string RedisServerName => "redis";

    public async ValueTask InitializeAsync()
    {
        if (RedisServer.Binary is null || PostgresServer.BinDirectory is null)
            return;
        _redis = await RedisServer.StartAsync();
        _postgres = await PostgresServer.StartAsync();
        _api = new ApiFactory(_data.FullName, _redis.Configuration, await _postgres.CreateDatabaseAsync());
    }

    public async ValueTask DisposeAsync()
    {
        if (_api is not null)
            await _api.DisposeAsync();
        if (_postgres is not null)
            await _postgres.DisposeAsync();
        if (_redis is not null)
            await _redis.DisposeAsync();
        _data.Delete(recursive: true);
    }
}

/// <summary>A throwaway three-primary Redis Cluster with the embedded SQLite, when redis-server and redis-cli are installed.</summary>
public sealed class ClusterStack : IApiStack, IAsyncLifetime
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("cacheflow-api-");
    private RedisCluster? _cluster;
    private ApiFactory? _api;

    public ApiFactory Api
    {
        get
        {
            if (_api is null)
                ServerRequirement.Unavailable("redis-server and redis-cli are not installed (apt-get install redis-server)");
            return _api!;
        }
    }

    public string RedisServerName => "redis";

    public async ValueTask InitializeAsync()
    {
        if (!RedisCluster.Available)
            return;
        _cluster = await RedisCluster.StartAsync();
        _api = new ApiFactory(_data.FullName, _cluster.Configuration);
    }

    public async ValueTask DisposeAsync()
    {
        if (_api is not null)
            await _api.DisposeAsync();
        if (_cluster is not null)
            await _cluster.DisposeAsync();
        _data.Delete(recursive: true);
    }
}
