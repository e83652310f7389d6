using System.Net;
using CacheFlow.Testing;
using StackExchange.Redis;

namespace CacheFlow.Tests;

/// <summary>
/// A six-node Redis Cluster (three primaries, a replica each) whose primary of a key is killed (SIGKILL) while a load of
/// that key runs: the load's write-back fails (the cluster is down for that slot until the replica takes over), and
/// its lease, replicated before the kill, would make every reader wait for it to run out. Once the replica is primary,
/// the loader releases it, and a reader in another process loads at once. Leases last five minutes here, so only the
/// release can free one within the test.
/// </summary>
public sealed class ClusterFailoverTests
{
    /// <summary>
    /// Holds a load of <c>item:1</c> in one process, kills the key's primary, lets the load finish (its write-back
    /// fails), waits for the failover, then gives the loader's releases 10 s to get through. Returns whether the
    /// lease is still held.
    /// </summary>
    private static async Task<bool> LeaseHeldAfterAFailoverDuringALoadAsync(RedisCluster cluster, string prefix, bool release)
    {
        await using var redis = cluster.Connect();
        using var cache = TestCaches.Create(redis, configure: o =>
        {
            o.KeyPrefix = prefix;
            o.LeaseDuration = TimeSpan.FromMinutes(5);
            o.CircuitBreakDuration = TimeSpan.Zero;
            o.RedisTimeout = TimeSpan.FromSeconds(2);
            o.InvalidationRetryInterval = TimeSpan.FromMilliseconds(100);
            if (!release)
                o.Protections &= ~CacheProtections.ReleaseAbandonedLeases;
        });
        var lease = (RedisKey)$"{prefix}{{item:1}}";
        var primary = (IPEndPoint)(await redis.GetDatabase().IdentifyEndpointAsync(lease))!;

        var loader = new HeldLoader<Item>(new Item(1, "v1"));
        var load = cache.GetOrCreateAsync("item:1", loader.LoadAsync);
        await loader.Reached;
        // The lease is on the replica too before the primary dies (replication is asynchronous): WAIT until one
        // replica has it, a second at a time (within the client's own timeout), bounded.
        var replicated = 0;
        for (var attempt = 0; attempt < 30 && replicated == 0; attempt++)
            replicated = (int)await redis.GetServer(primary).ExecuteAsync("WAIT", 1, 1000);
        Assert.Equal(1, replicated);

        cluster.Kill(primary.Port);
        loader.Release();
        Assert.Equal("v1", (await load.Within(30)).Value!.Name);

        await cluster.WaitForFailoverAsync(primary.Port);
        await using var other = cluster.Connect();
        for (var waited = 0; waited < 100 && await LeaseProbe.HeldAsync(other.GetDatabase(), (string)lease!); waited++)
            await Task.Delay(100);
        return await LeaseProbe.HeldAsync(other.GetDatabase(), (string)lease!);
    }

    [Fact]
    public async Task ALeaseWhoseWriteBackFailedInAFailoverIsReleasedOnTheNewPrimaryAndAnotherProcessLoads()
    {
        if (!RedisCluster.Available)
            ServerRequirement.Unavailable("redis-server and redis-cli are not installed (apt-get install redis-server)");
        await using var cluster = await RedisCluster.StartAsync(replicas: 1, nodeTimeoutMs: 1000);

        var prefix = $"fo{Guid.NewGuid():N}:";

        Assert.False(await LeaseHeldAfterAFailoverDuringALoadAsync(cluster, prefix, release: true));

        await using var other = cluster.Connect();
        using var reader = TestCaches.Create(other, configure: o => o.KeyPrefix = prefix);
        var loader = new CountingLoader<Item>(_ => new Item(1, "v2"));
        Assert.Equal(CacheOutcome.Miss, (await reader.GetOrCreateAsync("item:1", loader.LoadAsync).Within()).Outcome);
        Assert.Equal(1, loader.Calls);
    }

    [Fact]
    public async Task ControlWithoutReleasingItTheLeaseOutlivesTheFailover()
    {
        if (!RedisCluster.Available)
            ServerRequirement.Unavailable("redis-server and redis-cli are not installed (apt-get install redis-server)");
        await using var cluster = await RedisCluster.StartAsync(replicas: 1, nodeTimeoutMs: 1000);

        Assert.True(await LeaseHeldAfterAFailoverDuringALoadAsync(cluster, $"fo{Guid.NewGuid():N}:", release: false));
    }
}
