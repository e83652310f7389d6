using System.Diagnostics;

namespace CacheFlow.Tests;

/// <summary>
/// Runs the dotnet CLI as a user would, for the tests that pack, build or publish (<see cref="PackageTests"/>,
/// <see cref="AotSampleTests"/>). They share one collection, so two such builds never restore the same projects at once.
/// </summary>
public static class DotnetCli
{
    /// <summary>The collection of the tests that run the dotnet CLI.</summary>
    public const string Collection = "dotnet CLI";

    /// <summary>The repository's root folder (where CacheFlow.slnx is), above the test's output folder.</summary>
    public static string RepositoryRoot
    {
        get
        {
            var root = AppContext.BaseDirectory;
            while (!File.Exists(Path.Combine(root, "CacheFlow.slnx")))
                root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("CacheFlow.slnx not found above the test's folder");
            return root;
        }
    }

    /// <summary>Runs <c>dotnet</c> with <paramref name="arguments"/> in <paramref name="directory"/>; returns its standard output, failing the test if it fails or takes over 10 minutes.</summary>
    public static async Task<string> RunAsync(string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        // The test host runs under the SDK that launched it: none of its MSBuild settings may leak into this build.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(name);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', arguments)} took over 10 minutes");
        }

        var output = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', arguments)} exited {process.ExitCode}:\n{output}");
        return await stdout;
    }
}

[CollectionDefinition(DotnetCli.Collection)]
public sealed class DotnetCliCollection;
