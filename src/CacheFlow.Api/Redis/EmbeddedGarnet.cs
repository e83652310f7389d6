using System.Net;
using System.Net.Sockets;
using Garnet;

namespace CacheFlow.Api.Redis;

/// <summary>
/// A Garnet server in this process on a free loopback port: the Redis of a machine that has none. Its data lives
/// in an append-only file under <c>{data}/garnet</c> and is recovered on the next start; records past its 256 MB of
/// memory move to a log file there (the storage tier) instead of being dropped.
/// </summary>
public sealed class EmbeddedGarnet : IDisposable
{
    private readonly GarnetServer _server;
    private int _disposed;

    private EmbeddedGarnet(GarnetServer server, int port, string directory)
    {
        _server = server;
        Port = port;
        Directory = directory;
    }

    /// <summary>The loopback port it listens on.</summary>
    public int Port { get; }

    /// <summary>Where its append-only file and checkpoints are.</summary>
    public string Directory { get; }

    /// <summary>Starts a server persisting under <paramref name="dataDirectory"/>.</summary>
    public static EmbeddedGarnet Start(string dataDirectory) => Start(dataDirectory, memory: "256m", page: "16m", storageTier: true);

    /// <summary>
    /// Starts a server with <paramref name="memory"/> for its log in pages of <paramref name="page"/> (at least four);
    /// without <paramref name="storageTier"/>, records past the memory are dropped (tests show it with a small memory).
    /// </summary>
    internal static EmbeddedGarnet Start(string dataDirectory, string memory, string page, bool storageTier)
    {
        var directory = System.IO.Directory.CreateDirectory(Path.Combine(dataDirectory, "garnet")).FullName;
        var port = FreeLoopbackPort();
        // The string-args constructor: the typed-options one threw in 2.2.8. The native storage device needs a newer
        // glibc than Debian 12 has, hence RandomAccess. Lua is off unless asked for.
        var server = new GarnetServer([
            "--bind", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-q", "--lua", "--logger-level", "Warning", "--index", "16m", "--memory", memory, "--page", page,
            // Each acknowledged write is in the append-only file before the reply: the write-behind queue survives kill -9.
            "--aof", "--aof-commit-wait", "--checkpointdir", directory, "--recover", "--device-type", "RandomAccess",
            "--metrics-sampling-freq", "1",
            // Without a storage tier Garnet is a cache: once its log is past --memory it drops the oldest records,
            // durable ones too (the queue, statuses, login counts). With it they move to disk and stay readable.
            .. storageTier ? new[] { "--storage-tier", "--logdir", directory } : [],
        ]);
        server.Start();
        return new EmbeddedGarnet(server, port, directory);
    }

    /// <summary>Stops the server, keeping its files.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
            _server.Dispose(false);
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
