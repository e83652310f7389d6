using CacheFlow.Redis;
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
    /// <summary>
    /// Reads INFO and DBSIZE from every primary (one node, or each shard of a cluster) and adds the counts up;
    /// <see cref="Available"/> is false if Redis did not answer (within the guard's timeout: the stats page stays quick
    /// while Redis hangs).
    /// </summary>
    public static async Task<RedisServerStats> ReadAsync(IConnectionMultiplexer redis, RedisGuard guard)
    {
        try
        {
            return await guard.RunAsync(ReadCoreAsync, redis);
        }
        catch (Exception ex) when (RedisGuard.IsFailure(ex))
        {
            return new RedisServerStats(false, null, null, null, null, null, null, null, null);
        }
    }

    private static async Task<RedisServerStats> ReadCoreAsync(IConnectionMultiplexer redis)
    {
        var primaries = redis.GetServers().Where(s => !s.IsReplica).ToList();
        var infos = await Task.WhenAll(primaries.Select(async server =>
            (await server.InfoAsync()).SelectMany(g => g).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.First().Value)));
        var keys = await Task.WhenAll(primaries.Select(server => server.DatabaseSizeAsync()));
        var garnet = infos[0].ContainsKey("garnet_version");
        long? Sum(params string[] names) => infos
            .Select(info => names.Select(n => info.TryGetValue(n, out var v) && long.TryParse(v, out var l) ? l : (long?)null).FirstOrDefault(v => v is not null))
            .Aggregate((long?)null, (total, v) => v is null ? total : (total ?? 0) + v);
        return new RedisServerStats(
            true,
            garnet ? "garnet" : "redis",
            infos[0].GetValueOrDefault(garnet ? "garnet_version" : "redis_version"),
            Sum("connected_clients"),
            Sum("total_commands_processed"),
            Sum("keyspace_hits", "total_found"),
            Sum("keyspace_misses", "total_notfound"),
            Sum("used_memory", "proc_physical_memory_size"),
            keys.Sum());
    }
}
