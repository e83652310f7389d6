using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace CacheFlow.Testing;

/// <summary>
/// A throwaway Redis Cluster of three primaries (no replicas) from the installed redis-server, on free loopback
/// ports (each with its cluster bus port, +10000, free too), each with an append-only file (as a deployment that keeps
/// durable data would be), killed on dispose.
/// </summary>
public sealed class RedisCluster : IAsyncDisposable
{
    private readonly List<Process> _nodes;
    private readonly string _directory;

    private RedisCluster(List<Process> nodes, IReadOnlyList<int> ports, string directory)
    {
        _nodes = nodes;
        Ports = ports;
        _directory = directory;
    }

    public IReadOnlyList<int> Ports { get; }

    public string Configuration => string.Join(',', Ports.Select(p => $"127.0.0.1:{p}"));

    public static bool Available => RedisServer.Binary is not null && ServerProcess.FindOnPath("redis-cli") is not null;

    public static async Task<RedisCluster> StartAsync()
    {
        var directory = Directory.CreateTempSubdirectory("cacheflow-cluster-").FullName;
        var ports = FreePortsWithBusPorts(3);
        var nodes = ports.Select(port => Process.Start(new ProcessStartInfo(RedisServer.Binary!)
        {
            ArgumentList =
            {
                "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                "--cluster-config-file", $"nodes-{port}.conf", "--cluster-node-timeout", "5000", "--dir", directory,
                "--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--appenddirname", $"appendonlydir-{port}", "--maxmemory", "64mb",
            },
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!).ToList();
        var cluster = new RedisCluster(nodes, ports, directory);
        try
        {
            foreach (var port in ports)
                await WaitUntilListeningAsync(port);
            await ServerProcess.RunAsync(ServerProcess.FindOnPath("redis-cli")!,
                ["--cluster", "create", .. ports.Select(p => $"127.0.0.1:{p}"), "--cluster-replicas", "0", "--cluster-yes"]);
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
        foreach (var node in _nodes)
        {
            if (!node.HasExited)
                node.Kill(entireProcessTree: true);
            node.Dispose();
        }

        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }

    /// <summary>Waits until every node says cluster_state:ok (slots assigned and agreed).</summary>
    private async Task WaitUntilReadyAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var redis = await ConnectionMultiplexer.ConnectAsync($"{Configuration},allowAdmin=true,connectTimeout=1000");
        while (true)
        {
            var states = await Task.WhenAll(Ports.Select(async p =>
                (string?)await redis.GetServer("127.0.0.1", p).ExecuteAsync("CLUSTER", "INFO")));
            if (states.All(s => s?.Contains("cluster_state:ok", StringComparison.Ordinal) == true))
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
