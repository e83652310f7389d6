using System.Net;
using System.Net.Sockets;
using Garnet;

namespace CacheFlow.Garnet;

/// <summary>
/// A Garnet server in this process on a free loopback port: the Redis of a machine that has none. The API starts two:
/// one for the cache (<see cref="StartCache"/>: memory only, it answers each write without waiting for a disk) and
/// one for durable data (<see cref="Start(string)"/>: an append-only file under <c>{data}/garnet</c> that each write
/// waits for and that is recovered on the next start, records past its 256 MB of memory moved to a log file there, the
/// storage tier, instead of being dropped). Waiting for the file is what makes a write survive <c>kill -9</c>, and on
/// Garnet it is what a write costs most: a Lua script that writes costs 250–530 µs of server CPU with the wait, 16–44
/// without (bench/results/servers.md), so the cache, which loses nothing it cannot load again, does not pay it.
/// </summary>
public sealed class EmbeddedGarnet : IDisposable
{
    private readonly GarnetServer _server;
    private int _disposed;

    private EmbeddedGarnet(GarnetServer server, int port, string? directory)
    {
        _server = server;
        Port = port;
        Directory = directory;
    }

    /// <summary>The loopback port it listens on.</summary>
    public int Port { get; }

    /// <summary>Where its append-only file and checkpoints are; null for the cache's, which has none.</summary>
    public string? Directory { get; }

    /// <summary>Starts a server for durable data, persisting under <paramref name="dataDirectory"/>.</summary>
    public static EmbeddedGarnet Start(string dataDirectory) => Start(dataDirectory, memory: "256m", page: "16m", storageTier: true);

    /// <summary>
    /// Starts a server for the cache: no append-only file and no storage tier, so past its 256 MB it drops the oldest
    /// records as a cache does, and a restart starts cold (every entry is loaded again from the database).
    /// </summary>
    public static EmbeddedGarnet StartCache()
    {
        var port = FreeLoopbackPort();
        return new EmbeddedGarnet(StartServer(CacheArguments(port)), port, directory: null);
    }

    /// <summary>
    /// Starts a server with <paramref name="memory"/> for its log in pages of <paramref name="page"/> (at least four);
    /// without <paramref name="storageTier"/>, records past the memory are dropped (tests show it with a small memory).
    /// </summary>
    internal static EmbeddedGarnet Start(string dataDirectory, string memory, string page, bool storageTier)
    {
        var directory = System.IO.Directory.CreateDirectory(Path.Combine(dataDirectory, "garnet")).FullName;
        var port = FreeLoopbackPort();
        return new EmbeddedGarnet(StartServer(Arguments(port, directory, memory, page, storageTier)), port, directory);
    }

    /// <summary>The server's command line: what <see cref="Start(string)"/> runs (the bench varies it).</summary>
    internal static List<string> Arguments(int port, string directory, string memory, string page, bool storageTier) =>
    [
        .. Common(port, memory, page),
        // Each acknowledged write is in the append-only file before the reply: the write-behind queue survives kill -9.
        "--aof", "--aof-commit-wait", "--checkpointdir", directory, "--recover", "--device-type", "RandomAccess",
        // Without a storage tier Garnet is a cache: once its log is past --memory it drops the oldest records,
        // durable ones too (the queue, statuses, login counts). With it they move to disk and stay readable.
        .. storageTier ? new[] { "--storage-tier", "--logdir", directory } : [],
    ];

    /// <summary>The cache server's command line.</summary>
    internal static List<string> CacheArguments(int port) => Common(port, memory: "256m", page: "16m");

    /// <summary>
    /// What both servers run with: loopback, Lua on and run as a transaction, quiet, sizes, and hits and misses sampled
    /// for INFO every second. Without <c>--lua-transaction-mode</c> Garnet runs a script's commands one by one, its keys
    /// unlocked, and another client's command can land between them: a compare-and-set script is then not atomic.
    /// </summary>
    private static List<string> Common(int port, string memory, string page) =>
    [
        "--bind", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "-q", "--lua", "--lua-transaction-mode", "--logger-level", "Warning", "--index", "16m", "--memory", memory, "--page", page,
        "--metrics-sampling-freq", "1",
    ];

    /// <summary>Starts a server with this command line.</summary>
    internal static GarnetServer StartServer(IEnumerable<string> arguments)
    {
        // The string-args constructor: the typed-options one threw in 2.2.8. The native storage device needs a newer
        // glibc than Debian 12 has, hence RandomAccess. Lua is off unless asked for.
        var server = new GarnetServer([.. arguments]);
        server.Start();
        return server;
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
