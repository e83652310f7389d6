using StackExchange.Redis;

namespace CacheFlow.Api.Redis;

/// <summary>
/// The Redis server's own figures from INFO, named as Redis names them. Garnet reports hits and misses as
/// <c>total_found</c>/<c>total_notfound</c> and memory as <c>proc_physical_memory_size</c>; they are mapped here.
/// </summary>
public sealed record RedisServerStats(
    bool Available, string? Server, string? Version, long? ConnectedClients, long? TotalCommandsProcessed,
    long? KeyspaceHits, long? KeyspaceMisses, long? UsedMemory, long? Keys)
{
    /// <summary>Reads INFO and DBSIZE from the first primary; <see cref="Available"/> is false if Redis did not answer.</summary>
    public static async Task<RedisServerStats> ReadAsync(IConnectionMultiplexer redis)
    {
        try
        {
            var server = redis.GetServers().First(s => !s.IsReplica);
            var info = (await server.InfoAsync()).SelectMany(g => g).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.First().Value);
            long? Read(params string[] names) =>
                names.Select(n => info.TryGetValue(n, out var v) && long.TryParse(v, out var l) ? l : (long?)null).FirstOrDefault(v => v is not null);
            var garnet = info.ContainsKey("garnet_version");
            return new RedisServerStats(
                true,
                garnet ? "garnet" : "redis",
                info.GetValueOrDefault(garnet ? "garnet_version" : "redis_version"),
                Read("connected_clients"),
                Read("total_commands_processed"),
                Read("keyspace_hits", "total_found"),
                Read("keyspace_misses", "total_notfound"),
                Read("used_memory", "proc_physical_memory_size"),
                await server.DatabaseSizeAsync());
        }
        catch (RedisException)
        {
            return new RedisServerStats(false, null, null, null, null, null, null, null, null);
        }
    }
}
