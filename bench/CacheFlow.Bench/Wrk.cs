using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace CacheFlow.Bench;

/// <summary>One wrk run (-t2 -c64, latency distribution on) and what it printed.</summary>
public static partial class Wrk
{
    public sealed record Run(double RequestsPerSecond, long Requests, double P50Ms, double P99Ms);

    /// <summary>
    /// Writes the request script: ids uniform over 1..n, Zipf-like over 1..n, never read before (cold: keys of the
    /// run's own, the run's number in the path), misses among hits of one family (mixed: 15% never read before, the rest
    /// uniform over the warm ids 1..the fifth argument), or list pages uniform over 1..n. The fourth argument numbers the run: each run and
    /// each wrk thread draws a sequence of its own (an unseeded wrk replays the same ids in every run).
    /// </summary>
    public static string WriteScript(string directory)
    {
        var script = Path.Combine(directory, "requests.lua");
        File.WriteAllText(script, """
            local threads = 0
            setup = function(thread) threads = threads + 1; thread:set("tid", threads) end
            init = function(args)
              prefix = args[1]; mode = args[2]; n = tonumber(args[3]); run = tonumber(args[4] or "0"); warm = tonumber(args[5] or "1000"); i = 0
              math.randomseed(run * 7919 + tid)
            end
            request = function()
              local path
              if mode == "uniform" then path = prefix .. math.random(1, n)
              -- keys of the run's own (its number is in the path), ids scattered over 1..n, none twice in a run
              elseif mode == "cold" then i = i + 1; path = prefix .. run .. "/users/" .. (((i * 2 + tid) * 7919) % n + 1)
              -- floor(n^u), u uniform in [0,1): P(k) proportional to about 1/k (Zipf, s = 1)
              elseif mode == "zipf" then path = prefix .. math.floor(n ^ math.random())
              -- misses among hits of their family: one read in seven a key never read before (ids scattered over 1..n),
              -- the others uniform over the warm ids 1..warm
              elseif mode == "mixed" then
                if math.random(1, 100) <= 15 then i = i + 1; path = prefix .. "fresh/" .. run .. "/users/" .. (((i * 2 + tid) * 7919) % n + 1)
                else path = prefix .. "users/" .. math.random(1, warm) end
              else path = prefix .. "?page=" .. math.random(1, n) .. "&limit=20" end
              return wrk.format("GET", path)
            end
            """);
        return script;
    }

    /// <summary>Runs wrk for <paramref name="seconds"/>; the script gets the path, the mode, n and <paramref name="extra"/> as its arguments.</summary>
    public static Task<Run> RunAsync(int port, string script, string path, string mode, int n, int seconds, params string[] extra) =>
        RunAsync(port, script, path, mode, n, seconds, errorsExpected: false, extra);

    /// <summary>As <see cref="RunAsync(int, string, string, string, int, int, string[])"/>, for a load whose answers are meant to be errors (a flood of junk).</summary>
    public static Task<Run> RunJunkAsync(int port, string script, string mode, int n, int seconds) =>
        RunAsync(port, script, "/", mode, n, seconds, errorsExpected: true, []);

    private static async Task<Run> RunAsync(int port, string script, string path, string mode, int n, int seconds, bool errorsExpected, string[] extra)
    {
        var start = new ProcessStartInfo("wrk", ["-t2", "-c64", $"-d{seconds}s", "--latency", "-s", script, $"http://127.0.0.1:{port}", "--", path, mode, n.ToString(CultureInfo.InvariantCulture), .. extra])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var wrk = Process.Start(start) ?? throw new InvalidOperationException("wrk did not start (apt-get install wrk)");
        var output = await wrk.StandardOutput.ReadToEndAsync();
        await wrk.WaitForExitAsync();
        if (RequestsPerSecond().Match(output) is not { Success: true } rps || Requests().Match(output) is not { Success: true } requests)
            throw new InvalidOperationException($"wrk said: {output}");
        if (!errorsExpected && output.Contains("Non-2xx", StringComparison.Ordinal))
            throw new InvalidOperationException($"{path}: some responses were not 2xx: {output}");
        return new Run(Number(rps.Groups[1].Value), long.Parse(requests.Groups[1].Value, CultureInfo.InvariantCulture), Percentile(output, "50%"), Percentile(output, "99%"));
    }

    private static double Percentile(string output, string label)
    {
        var match = Regex.Match(output, $@"^\s+{label}\s+([0-9.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        return !match.Success ? double.NaN : Number(match.Groups[1].Value) * match.Groups[2].Value switch { "us" => 0.001, "ms" => 1, _ => 1000 };
    }

    private static double Number(string text) => double.Parse(text, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"Requests/sec:\s+([0-9.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex Requests();
}
