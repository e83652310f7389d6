using System.Diagnostics;
using StackExchange.Redis;

namespace CacheFlow.Testing;

/// <summary>
/// A throwaway redis-server on a free loopback port, killed on dispose. Configured as a deployment that keeps durable
/// data would be: an append-only file (no RDB snapshots), no eviction (<c>maxmemory 128mb</c>, the default
/// <c>noeviction</c>), so the API's check of the Redis that holds durable data accepts it.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string _appendOnlyDirectory;
    private readonly bool _ownDirectory;
    private readonly IReadOnlyList<string> _arguments;
    private Process _process;

    private RedisServer(int port, string? appendOnlyDirectory, IReadOnlyList<string> arguments)
    {
        Port = port;
        _ownDirectory = appendOnlyDirectory is null;
        _appendOnlyDirectory = appendOnlyDirectory ?? Directory.CreateTempSubdirectory("cacheflow-redis-").FullName;
        // A directory of the test's own: every write is fsynced first (it kills and restarts the server on purpose);
        // otherwise once a second, as Redis's default, which a kill of the process alone does not lose either.
        _arguments = ["--appendfsync", appendOnlyDirectory is null ? "everysec" : "always", .. arguments];
        _process = Launch();
    }

    public int Port { get; }

    /// <summary>The server process's id (the bench reads its CPU time).</summary>
    public int ProcessId => _process.Id;

    public string Configuration => $"127.0.0.1:{Port}";

    public static string? Binary => ServerProcess.FindOnPath("redis-server");

    /// <summary>
    /// Starts a server with its append-only file in <paramref name="appendOnlyDirectory"/> (every write fsynced first),
    /// or in a temp folder of its own (fsynced every second, deleted on dispose); <paramref name="arguments"/> are added
    /// last (they override, e.g. <c>--maxmemory-policy allkeys-lru</c>); on <paramref name="port"/> if given.
    /// </summary>
    public static async Task<RedisServer> StartAsync(string? appendOnlyDirectory = null, IReadOnlyList<string>? arguments = null, int? port = null)
    {
        var server = new RedisServer(port ?? ServerProcess.FreeLoopbackPort(), appendOnlyDirectory, arguments ?? []);
        try
        {
            await server.WaitUntilReadyAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>A connection that reconnects by itself and fails fast while the server is down.</summary>
    public ConnectionMultiplexer Connect() => Connect(Configuration);

    /// <summary>A connection to <paramref name="configuration"/> as the API makes it: reconnecting, failing fast, admin allowed.</summary>
    public static ConnectionMultiplexer Connect(string configuration)
    {
        var options = ConfigurationOptions.Parse(configuration);
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.AllowAdmin = true;
        return ConnectionMultiplexer.Connect(options);
    }

    /// <summary>Kills the server, as a crash would.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    /// <summary>
    /// Stops the server's process (<c>kill -STOP</c>): a hung Redis. Its sockets stay open, so clients see no error;
    /// their commands queue up unanswered until <see cref="Resume"/>, and then run (a stall alone loses none of them).
    /// </summary>
    public void Pause() => Signal("-STOP");

    /// <summary>Lets a paused server run again (<c>kill -CONT</c>): it reads and answers what queued up meanwhile.</summary>
    public void Resume() => Signal("-CONT");

    /// <summary>Starts the server again on the same port, recovered from its append-only file.</summary>
    public async Task RestartAsync()
    {
        Kill();
        _process.Dispose();
        _process = Launch();
        await WaitUntilReadyAsync();
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        if (_ownDirectory)
            Directory.Delete(_appendOnlyDirectory, recursive: true);
        return ValueTask.CompletedTask;
    }

    private void Signal(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill")
        {
            ArgumentList = { signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            UseShellExecute = false,
        })!;
        kill.WaitForExit();
        if (kill.ExitCode != 0)
            throw new InvalidOperationException($"kill {signal} {_process.Id} exited {kill.ExitCode}");
    }

    private Process Launch()
    {
        var start = new ProcessStartInfo(Binary!)
        {
            ArgumentList =
            {
                "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--maxmemory", "128mb",
                "--appendonly", "yes", "--dir", _appendOnlyDirectory,
            },
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in _arguments)
            start.ArgumentList.Add(argument);
        return Process.Start(start)!;
    }

    /// <summary>Waits until PING answers (connection refused while starting, LOADING while replaying its append-only file).</summary>
    private async Task WaitUntilReadyAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (true)
        {
            try
            {
                await using var probe = await ConnectionMultiplexer.ConnectAsync($"{Configuration},connectTimeout=500");
                await probe.GetDatabase().PingAsync();
                return;
            }
            catch (RedisException) when (!deadline.IsCancellationRequested && !_process.HasExited)
            {
                await Task.Delay(100, deadline.Token);
            }
        }
    }
}
