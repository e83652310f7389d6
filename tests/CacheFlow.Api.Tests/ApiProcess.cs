using System.Diagnostics;
using System.Net;
using CacheFlow.Testing;

namespace CacheFlow.Api.Tests;

/// <summary>The API as a child process (the built CacheFlow.Api.dll), so a test can kill it with SIGKILL.</summary>
public sealed class ApiProcess : IDisposable
{
    private readonly Process _process;

    private ApiProcess(Process process, int port)
    {
        _process = process;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
    }

    public HttpClient Client { get; }

    private static string ProjectDirectory
    {
        get
        {
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "CacheFlow.slnx")))
                directory = directory.Parent;
            return Path.Combine(directory?.FullName ?? throw new InvalidOperationException("CacheFlow.slnx not found above the test output"), "src", "CacheFlow.Api");
        }
    }

    /// <summary>Starts the API with these settings (as command-line configuration) and waits until it is ready.</summary>
    public static async Task<ApiProcess> StartAsync(IReadOnlyDictionary<string, string> settings)
    {
        var port = ServerProcess.FreeLoopbackPort();
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "CacheFlow.Api.dll"));
        start.ArgumentList.Add($"--urls=http://127.0.0.1:{port}");
        // The project folder is the content root, as with dotnet run: wwwroot (the dashboard) and appsettings.json.
        start.ArgumentList.Add($"--contentRoot={ProjectDirectory}");
        // Every test request comes from one address; a test about rate limits turns them on in its settings.
        foreach (var (key, value) in settings.TryGetValue("RateLimits:Enabled", out _) ? settings : settings.Append(new("RateLimits:Enabled", "false")))
            start.ArgumentList.Add($"--{key}={value}");
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var api = new ApiProcess(process, port);
        for (var attempt = 0; attempt < 600; attempt++)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"The API exited with {process.ExitCode} before it was ready");
            try
            {
                if ((await api.Client.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK)
                    return api;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        api.Dispose();
        throw new TimeoutException("The API did not become ready in 60 seconds");
    }

    /// <summary>Kills the process with SIGKILL: no shutdown, no drain, no flush of anything in memory.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
        Client.Dispose();
    }
}
