using System.Diagnostics;
using StackExchange.Redis;

namespace CacheFlow.Testing;

/// <summary>A throwaway redis-server on a free loopback port, persistence off, killed on dispose.</summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string? _appendOnlyDirectory;
    private Process _process;

    private RedisServer(Process process, int port, string? appendOnlyDirectory)
    {
        _process = process;
        Port = port;
        _appendOnlyDirectory = appendOnlyDirectory;
    }

    public int Port { get; }

    public string Configuration => $"127.0.0.1:{Port}";

    public static string? Binary => ServerProcess.FindOnPath("redis-server");

    /// <summary>Starts a server; with <paramref name="appendOnlyDirectory"/>, every write is fsynced to an append-only file there first.</summary>
    public static async Task<RedisServer> StartAsync(string? appendOnlyDirectory = null)
    {
        var port = ServerProcess.FreeLoopbackPort();
        var server = new RedisServer(Launch(port, appendOnlyDirectory), port, appendOnlyDirectory);
        await server.WaitUntilReadyAsync();
        return server;
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
    /// Stops the server with <c>kill -STOP</c>, as a hung Redis: its sockets stay open and commands queue up unanswered
    /// until <see cref="Resume"/>.
    /// </summary>
    public void Pause() => Signal("-STOP");

    /// <summary>Lets a paused server run again (<c>kill -CONT</c>): it answers what queued up meanwhile, in order.</summary>
    public void Resume() => Signal("-CONT");

    /// <summary>Starts the server again on the same port: empty, or recovered from its append-only file.</summary>
    public async Task RestartAsync()
    {
        Kill();
        _process.Dispose();
        _process = Launch(Port, _appendOnlyDirectory);
        await WaitUntilReadyAsync();
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Signal(string signal)
    {
        using var kill = Process.Start("kill", [signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        if (kill.ExitCode != 0)
            throw new InvalidOperationException($"kill {signal} {_process.Id} exited {kill.ExitCode}");
    }

    private static Process Launch(int port, string? appendOnlyDirectory)
    {
        var start = new ProcessStartInfo(Binary!)
        {
            ArgumentList = { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--maxmemory", "128mb" },
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in appendOnlyDirectory is null
            ? ["--appendonly", "no"]
            : new[] { "--appendonly", "yes", "--appendfsync", "always", "--dir", appendOnlyDirectory })
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
