using System.Net;
using System.Net.Sockets;
using Garnet;

namespace CacheFlow.Api.Redis;

/// <summary>
/// A Garnet server in this process on a free loopback port: the Redis of a machine that has none. Its data lives
/// in an append-only file under <c>{data}/garnet</c> and is recovered on the next start.
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
    public static EmbeddedGarnet Start(string dataDirectory)
    {
        var directory = System.IO.Directory.CreateDirectory(Path.Combine(dataDirectory, "garnet")).FullName;
        var port = FreeLoopbackPort();
        // The string-args constructor: the typed-options one threw in 2.2.8. The native storage device needs a newer
        // glibc than Debian 12 has, hence RandomAccess. Lua is off unless asked for.
        var server = new GarnetServer([
            "--bind", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-q", "--lua", "--logger-level", "Warning", "--index", "16m", "--memory", "256m",
            // Each acknowledged write is in the append-only file before the reply: the write-behind queue survives kill -9.
            "--aof", "--aof-commit-wait", "--checkpointdir", directory, "--recover", "--device-type", "RandomAccess",
            "--metrics-sampling-freq", "1",
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
