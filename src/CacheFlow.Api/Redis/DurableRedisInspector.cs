using System.Globalization;
using CacheFlow.Redis;
using StackExchange.Redis;

namespace CacheFlow.Api.Redis;

/// <summary>
/// Reads and judges the settings that decide whether a Redis keeps durable data: on every primary, whether it evicts
/// keys when full (<c>maxmemory</c> and <c>maxmemory-policy</c>) and whether it keeps an append-only file. Garnet has
/// no eviction policy and answers only <c>appendonly</c> to CONFIG GET: without <c>--storage-tier</c> it drops the
/// oldest records once its log is past <c>--memory</c>, which INFO store shows as an empty <c>LogDir</c>.
/// </summary>
internal static class DurableRedisInspector
{
    /// <summary>
    /// The settings of every connected primary; null when none answered (none connected, or one timed out or failed):
    /// then nothing new is known.
    /// </summary>
    public static async Task<IReadOnlyList<DurableServerSettings>?> ReadAsync(IConnectionMultiplexer redis, TimeSpan timeout)
    {
        var primaries = redis.GetServers().Where(s => s.IsConnected && !s.IsReplica).ToList();
        if (primaries.Count == 0)
            return null;
        try
        {
            return await Task.WhenAll(primaries.Select(server => ReadAsync(server).WaitAsync(timeout)));
        }
        catch (Exception ex) when (RedisGuard.Trips(ex))
        {
            return null;
        }
    }

    /// <summary>Judges what the primaries said: any that can lose a write makes the whole unsafe.</summary>
    public static DurableRedisVerdict Judge(IReadOnlyList<DurableServerSettings> servers)
    {
        var problems = new List<string>();
        var lossy = false;
        var unverified = false;
        foreach (var s in servers)
        {
            if (s.Refused is { } refused)
            {
                unverified = true;
                problems.Add($"{s.Endpoint} refused to report its configuration ({refused}): whether it evicts keys or keeps an append-only file cannot be verified: let this client run CONFIG GET");
            }
            else if (s.IsGarnet)
            {
                if (s.AppendOnly != "yes")
                {
                    lossy = true;
                    problems.Add($"{s.Endpoint} is Garnet without an append-only file (appendonly {s.AppendOnly ?? "not reported"}), so a restart loses what it holds: start it with --aof --aof-commit-wait");
                }

                if (string.IsNullOrEmpty(s.StorageTier))
                {
                    lossy = true;
                    problems.Add($"{s.Endpoint} is Garnet without a storage tier, so once its log is past --memory it drops the oldest records, queued writes among them: start it with --storage-tier --logdir DIR");
                }
            }
            else if (s.MaxMemory is not { } maxMemory || s.MaxMemoryPolicy is not { } policy || s.AppendOnly is null)
            {
                unverified = true;
                problems.Add($"{s.Endpoint} did not report maxmemory, maxmemory-policy and appendonly: whether it keeps every write cannot be verified");
            }
            else
            {
                if (maxMemory > 0 && policy != "noeviction")
                {
                    lossy = true;
                    var evicts = policy.StartsWith("volatile-", StringComparison.Ordinal)
                        ? "evicts keys that have a time to live when full, and write statuses have one"
                        : "evicts any key when full, queued writes and login counts among them";
                    problems.Add($"{s.Endpoint} {evicts} (maxmemory {maxMemory}, maxmemory-policy {policy}): set maxmemory-policy noeviction there, or maxmemory 0");
                }

                if (s.AppendOnly != "yes")
                {
                    lossy = true;
                    problems.Add($"{s.Endpoint} has appendonly {s.AppendOnly}, so a restart loses every write since its last snapshot: set appendonly yes there");
                }
            }
        }

        var state = lossy ? DurableRedisState.Unsafe : unverified ? DurableRedisState.Unverified : DurableRedisState.Safe;
        return new DurableRedisVerdict(state, string.Join("; ", servers.Select(Describe)), problems);
    }

    private static string Describe(DurableServerSettings s) =>
        s.Refused is not null ? $"{s.Endpoint}: configuration not reported"
        : s.IsGarnet ? $"{s.Endpoint} (garnet {s.Version}): appendonly {s.AppendOnly ?? "not reported"}, storage tier "
            + (string.IsNullOrEmpty(s.StorageTier) ? "off" : $"in {s.StorageTier}") + " (Garnet has no eviction policy and does not report whether it waits for its AOF)"
        : string.Create(CultureInfo.InvariantCulture,
            $"{s.Endpoint} (redis {s.Version}): maxmemory {s.MaxMemory}, maxmemory-policy {s.MaxMemoryPolicy}, appendonly {s.AppendOnly}, appendfsync {s.AppendFsync}");

    private static async Task<DurableServerSettings> ReadAsync(IServer server)
    {
        var endpoint = EndPointCollection.ToString(server.EndPoint);
        try
        {
            var info = Flatten(await server.InfoAsync("server"));
            if (info.TryGetValue("garnet_version", out var garnet))
            {
                var store = Flatten(await server.InfoAsync("store"));
                return new DurableServerSettings(endpoint, "garnet", garnet)
                {
                    AppendOnly = await ConfigAsync(server, "appendonly"),
                    StorageTier = store.GetValueOrDefault("LogDir"),
                };
            }

            var maxMemory = ConfigAsync(server, "maxmemory");
            var policy = ConfigAsync(server, "maxmemory-policy");
            var appendOnly = ConfigAsync(server, "appendonly");
            var appendFsync = ConfigAsync(server, "appendfsync");
            await Task.WhenAll(maxMemory, policy, appendOnly, appendFsync);
            return new DurableServerSettings(endpoint, "redis", info.GetValueOrDefault("redis_version"))
            {
                MaxMemory = long.TryParse(maxMemory.Result, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) ? bytes : null,
                MaxMemoryPolicy = policy.Result,
                AppendOnly = appendOnly.Result,
                AppendFsync = appendFsync.Result,
            };
        }
        catch (RedisException ex) when (!RedisGuard.Trips(ex))
        {
            // A managed Redis renames CONFIG, or an ACL denies it: the server answered, and told nothing.
            return new DurableServerSettings(endpoint, null, null) { Refused = ex.Message };
        }
    }

    private static async Task<string?> ConfigAsync(IServer server, string name) =>
        (await server.ConfigGetAsync(name)).Where(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)).Select(p => p.Value).FirstOrDefault();

    private static Dictionary<string, string> Flatten(IGrouping<string, KeyValuePair<string, string>>[] info) =>
        info.SelectMany(g => g).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.First().Value);
}
