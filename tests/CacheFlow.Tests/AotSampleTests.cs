using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using CacheFlow.Testing;
using StackExchange.Redis;

namespace CacheFlow.Tests;

/// <summary>
/// CacheFlow in a native AOT application: <c>tests/CacheFlow.AotSample</c> is published with <c>PublishAot</c> (by
/// <c>.ci/run</c> into <c>CACHEFLOW_AOT_SAMPLE</c>, with its log beside it, or else by the test; no trimming or AOT
/// warning may come out of it, ours or anyone's), and the native binary serves cached values from a
/// throwaway redis-server: a string through HybridCache, a record through <c>ICacheFlow</c> with a source-generated
/// JSON context, and an output-cached response, each loaded once.
/// </summary>
[Collection(DotnetCli.Collection)]
public sealed partial class AotSampleTests(RealRedisBackend backend) : IClassFixture<RealRedisBackend>
{
    [Fact]
    public async Task ThePublishedNativeSampleHasNoTrimmingOrAotWarningsAndServesCachedValues()
    {
        var redis = backend.Redis;
        // CI publishes it before the tests (.ci/run), so its native compile runs alone; run alone, the test publishes it.
        var published = Environment.GetEnvironmentVariable("CACHEFLOW_AOT_SAMPLE") is { Length: > 0 } given ? new DirectoryInfo(given) : null;
        var output = published ?? Directory.CreateTempSubdirectory("cacheflow-aot-");
        try
        {
            var log = published is not null
                ? await File.ReadAllTextAsync(Path.Combine(published.FullName, "publish.log"), TestContext.Current.CancellationToken)
                : await DotnetCli.RunAsync(DotnetCli.RepositoryRoot,
                    "publish", Path.Combine("tests", "CacheFlow.AotSample", "CacheFlow.AotSample.csproj"), "-c", "Release", "-r", "linux-x64", "-o", output.FullName);
            var binary = Path.Combine(output.FullName, "CacheFlow.AotSample");
            Assert.True(File.Exists(binary), $"The sample was not published:\n{log}");
            Assert.Empty(Warnings().Matches(log).Select(m => m.Value).Distinct());

            var endpoint = (IPEndPoint)redis.GetEndPoints()[0];
            var port = ServerProcess.FreeLoopbackPort();
            using var app = Start(binary, $"127.0.0.1:{endpoint.Port}", port);
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            await WaitUntilHealthyAsync(client, app);

            Assert.Equal("hello ann", await client.GetStringAsync(new Uri("/greeting/ann", UriKind.Relative)));
            Assert.Equal("hello ann", await client.GetStringAsync(new Uri("/greeting/ann", UriKind.Relative)));
            Assert.Equal("1", await client.GetStringAsync(new Uri("/loads", UriKind.Relative)));
            // The string is in Redis as its UTF-8 bytes after the entry's header, not as a JSON string.
            var stored = (byte[])(await redis.GetDatabase().StringGetAsync("cf:{greeting:ann}"))!;
            Assert.EndsWith("hello ann", System.Text.Encoding.UTF8.GetString(stored), StringComparison.Ordinal);

            Assert.Equal("""{"id":7,"name":"product 7"}""", await client.GetStringAsync(new Uri("/products/7", UriKind.Relative)));
            Assert.Equal("""{"id":7,"name":"product 7"}""", await client.GetStringAsync(new Uri("/products/7", UriKind.Relative)));
            var clock = await client.GetStringAsync(new Uri("/clock", UriKind.Relative));
            Assert.Equal(clock, await client.GetStringAsync(new Uri("/clock", UriKind.Relative)));
            Assert.Equal("3", await client.GetStringAsync(new Uri("/loads", UriKind.Relative)));
        }
        finally
        {
            if (published is null)
                output.Delete(recursive: true);
        }
    }

    [GeneratedRegex(@"warning (IL\d+|SYSLIB\d+)[^\r\n]*")]
    private static partial Regex Warnings();

    /// <summary>Starts the native binary on <paramref name="port"/>, its cache on <paramref name="redis"/> (bound from configuration).</summary>
    private static ProcessOwner Start(string binary, string redis, int port)
    {
        var start = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port}");
        start.Environment["CacheFlow__Configuration"] = redis;
        var process = Process.Start(start)!;
        // Drained so a full pipe never blocks the server.
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ProcessOwner(process);
    }

    private static async Task WaitUntilHealthyAsync(HttpClient client, ProcessOwner app)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            Assert.False(app.Process.HasExited, $"the sample exited with {(app.Process.HasExited ? app.Process.ExitCode : 0)}");
            try
            {
                if ((await client.GetAsync(new Uri("/health", UriKind.Relative), deadline.Token)).StatusCode == HttpStatusCode.OK)
                    return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100, deadline.Token);
        }
    }

    /// <summary>The sample's process, killed when the test ends.</summary>
    private sealed class ProcessOwner(Process process) : IDisposable
    {
        public Process Process { get; } = process;

        public void Dispose()
        {
            if (!Process.HasExited)
                Process.Kill(entireProcessTree: true);
            Process.Dispose();
        }
    }
}
