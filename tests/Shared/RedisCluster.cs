using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace CacheFlow.Testing;

/// <summary>
/// A throwaway Redis Cluster of three primaries (each with <c>replicas</c> replicas, none by default) from the installed
/// redis-server, on free loopback ports (each with its cluster bus port, +10000, free too), each with an append-only
/// file (as a deployment that keeps durable data would be), killed on dispose. A test can kill a node (SIGKILL) and
/// wait for its replica to take over.
/// </summary>
public sealed class RedisCluster : IAsyncDisposable
{
    private readonly Dictionary<int, Process> _nodes;
    private readonly string _directory;

    private RedisCluster(Dictionary<int, Process> nodes, IReadOnlyList<int> ports, string directory)
    {
        _nodes = nodes;
        Ports = ports;
        _directory = directory;
    }

    public IReadOnlyList<int> Ports { get; }

    public string Configuration => string.Join(',', Ports.Select(p => $"127.0.0.1:{p}"));

    public static bool Available => RedisServer.Binary is not null && ServerProcess.FindOnPath("redis-cli") is not null;

    /// <summary>Starts three primaries with <paramref name="replicas"/> replicas each; a node is failed after <paramref name="nodeTimeoutMs"/> without an answer.</summary>
    public static async Task<RedisCluster> StartAsync(int replicas = 0, int nodeTimeoutMs = 5000)
    {
        var directory = Directory.CreateTempSubdirectory("cacheflow-cluster-").FullName;
        var ports = FreePortsWithBusPorts(3 * (1 + replicas));
        var nodes = ports.ToDictionary(port => port, port => Process.Start(new ProcessStartInfo(RedisServer.Binary!)
        {
            ArgumentList =
            {
                "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                "--cluster-config-file", $"nodes-{port}.conf", "--cluster-node-timeout", nodeTimeoutMs.ToString(CultureInfo.InvariantCulture),
                "--dir", directory, "--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--appenddirname", $"appendonlydir-{port}", "--maxmemory", "64mb",
            },
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!);
        var cluster = new RedisCluster(nodes, ports, directory);
        try
        {
            foreach (var port in ports)
                await WaitUntilListeningAsync(port);
            await ServerProcess.RunAsync(ServerProcess.FindOnPath("redis-cli")!,
                ["--cluster", "create", .. ports.Select(p => $"127.0.0.1:{p}"), "--cluster-replicas", replicas.ToString(CultureInfo.InvariantCulture), "--cluster-yes"]);
            await cluster.WaitUntilReadyAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>A connection to the whole cluster that fails fast while a node is down.</summary>
    public ConnectionMultiplexer Connect() => RedisServer.Connect(Configuration);

    public ValueTask DisposeAsync()
    {
        foreach (var node in _nodes.Values)
        {
            if (!node.HasExited)
                node.Kill(entireProcessTree: true);
            node.Dispose();
        }

        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }

    /// <summary>The ports of the live nodes that are primaries now.</summary>
    public async Task<IReadOnlyList<int>> PrimariesAsync()
    {
        var live = _nodes.Where(n => !n.Value.HasExited).Select(n => n.Key).ToList();
        await using var redis = await ConnectionMultiplexer.ConnectAsync(
            $"{string.Join(',', live.Select(p => $"127.0.0.1:{p}"))},allowAdmin=true,connectTimeout=1000,abortConnect=false");
        var primaries = new List<int>();
        foreach (var port in live)
        {
            if (((string?)await redis.GetServer("127.0.0.1", port).ExecuteAsync("INFO", "replication"))?.Contains("role:master", StringComparison.Ordinal) == true)
                primaries.Add(port);
        }

        return primaries;
    }

    /// <summary>Kills the node on <paramref name="port"/> (SIGKILL, as a crash would); it is not started again.</summary>
    public void Kill(int port)
    {
        var node = _nodes[port];
        if (!node.HasExited)
        {
            node.Kill(entireProcessTree: true);
            node.WaitForExit();
        }
    }

    /// <summary>Waits until the live nodes have marked the killed node on <paramref name="port"/> failed and the cluster is whole again (its replica promoted).</summary>
    public async Task WaitForFailoverAsync(int port)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var live = _nodes.Where(n => !n.Value.HasExited).Select(n => n.Key).First();
        await using var redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{live},allowAdmin=true,connectTimeout=1000,abortConnect=false");
        while (true)
        {
            var nodes = (string?)await redis.GetServer("127.0.0.1", live).ExecuteAsync("CLUSTER", "NODES") ?? "";
            // A line is "<id> <ip:port@bus> <flags> …"; "fail" (not "fail?") once the others agree it is down.
            var flags = nodes.Split('\n').Select(l => l.Split(' ')).FirstOrDefault(f => f.Length > 2 && f[1].StartsWith($"127.0.0.1:{port}@", StringComparison.Ordinal))?[2] ?? "";
            if (flags.Split(',').Contains("fail"))
                break;
            await Task.Delay(100, deadline.Token);
        }

        await WaitUntilReadyAsync();
    }

    /// <summary>
    /// Waits until every live node says cluster_state:ok (slots assigned and agreed; after a kill, a replica promoted)
    /// and every live replica's link to its primary is up (its first sync done).
    /// </summary>
    public async Task WaitUntilReadyAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var live = _nodes.Where(n => !n.Value.HasExited).Select(n => n.Key).ToList();
        await using var redis = await ConnectionMultiplexer.ConnectAsync(
            $"{string.Join(',', live.Select(p => $"127.0.0.1:{p}"))},allowAdmin=true,connectTimeout=1000,abortConnect=false");
        while (true)
        {
            var states = await Task.WhenAll(live.Select(async p =>
            {
                try
                {
                    var server = redis.GetServer("127.0.0.1", p);
                    var replication = (string?)await server.ExecuteAsync("INFO", "replication") ?? "";
                    var synced = !replication.Contains("role:slave", StringComparison.Ordinal) || replication.Contains("master_link_status:up", StringComparison.Ordinal);
                    return synced && ((string?)await server.ExecuteAsync("CLUSTER", "INFO"))?.Contains("cluster_state:ok", StringComparison.Ordinal) == true;
                }
                catch (RedisException)
                {
                    return false;
                }
            }));
            if (states.All(ok => ok))
                return;
            await Task.Delay(100, deadline.Token);
        }
    }

    private static async Task WaitUntilListeningAsync(int port)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (attempt < 150)
            {
                await Task.Delay(100);
            }
        }
    }

    private static List<int> FreePortsWithBusPorts(int count)
    {
        var random = new Random();
        var ports = new List<int>();
        while (ports.Count < count)
        {
            var port = random.Next(20_000, 30_000);
            if (!ports.Contains(port) && IsFree(port) && IsFree(port + 10_000))
                ports.Add(port);
        }

        return ports;
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
