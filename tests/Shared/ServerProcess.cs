using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace CacheFlow.Testing;

/// <summary>Finding binaries, free ports and running commands for the throwaway servers.</summary>
public static class ServerProcess
{
    public static bool IsRoot => Environment.UserName == "root";

    public static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/sbin").Append("/usr/bin")
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Runs a command to its end (as <paramref name="user"/> if given, through runuser) and throws with its output if it fails.</summary>
    public static async Task RunAsync(string file, IEnumerable<string> arguments, string? user = null)
    {
        var start = new ProcessStartInfo(user is null ? file : "runuser")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (user is not null)
        {
            foreach (var a in new[] { "-u", user, "--", file })
                start.ArgumentList.Add(a);
        }

        foreach (var a in arguments)
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', start.ArgumentList)} exited {process.ExitCode}: {await output}{await error}");
    }
}
