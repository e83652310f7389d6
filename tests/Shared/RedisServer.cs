using System.Diagnostics;
using StackExchange.Redis;

namespace CacheFlow.Testing;

/// <summary>A throwaway redis-server on a free loopback port, persistence off, killed on dispose.</summary>
public sealed class RedisServer : IAsyncDisposable
{
    private Process _process;

    private RedisServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string Configuration => $"127.0.0.1:{Port}";

    public static string? Binary => ServerProcess.FindOnPath("redis-server");

    public static async Task<RedisServer> StartAsync()
    {
        var port = ServerProcess.FreeLoopbackPort();
        var server = new RedisServer(Launch(port), port);
        await server.WaitUntilReadyAsync();
        return server;
    }

    /// <summary>A connection that reconnects by itself and fails fast while the server is down.</summary>
    public ConnectionMultiplexer Connect()
    {
        var options = ConfigurationOptions.Parse(Configuration);
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

    /// <summary>Starts the server again on the same port (empty: persistence is off).</summary>
    public async Task RestartAsync()
    {
        Kill();
        _process.Dispose();
        _process = Launch(Port);
        await WaitUntilReadyAsync();
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    private static Process Launch(int port) => Process.Start(new ProcessStartInfo(Binary!)
    {
        ArgumentList = { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--maxmemory", "128mb" },
        RedirectStandardOutput = true,
        UseShellExecute = false,
    })!;

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
            catch (RedisConnectionException) when (!deadline.IsCancellationRequested && !_process.HasExited)
            {
                await Task.Delay(100, deadline.Token);
            }
        }
    }
}
