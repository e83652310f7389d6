using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace CacheFlow.Bench;

/// <summary>Writes a scenario's results: a Markdown table (with the commit, the date and the machine) and a bar chart.</summary>
public static class Report
{
    /// <summary>Added to each result's file name: <c>-embedded</c> for a run on embedded Garnet and SQLite, so it sits beside redis-server's.</summary>
    public static string Suffix { get; set; } = "";

    public static string Write(string scenario, string title, string unit, string redis, IReadOnlyDictionary<string, List<double>> results, string note,
        IReadOnlyList<(string Header, IReadOnlyDictionary<string, string> Values)>? columns = null, IReadOnlyList<string>? findings = null)
    {
        var directory = Directory.CreateDirectory(Path.Combine(RepositoryRoot(), "bench", "results")).FullName;
        columns ??= [];
        var medians = results.ToDictionary(r => r.Key, r => Median(r.Value));
        var markdown = new StringBuilder(Header(title, redis, note))
            .AppendLine(CultureInfo.InvariantCulture, $"| variant | median {unit} |{string.Concat(columns.Select(c => $" {c.Header} |"))} runs |")
            .AppendLine(CultureInfo.InvariantCulture, $"| --- | ---: |{string.Concat(columns.Select(_ => " ---: |"))} --- |");
        foreach (var (variant, values) in results)
        {
            markdown.AppendLine(CultureInfo.InvariantCulture,
                $"| {variant} | {medians[variant]:0.##} |{string.Concat(columns.Select(c => $" {c.Values.GetValueOrDefault(variant, "")} |"))} {string.Join(", ", values.Select(v => v.ToString("0.##", CultureInfo.InvariantCulture)))} |");
        }
        if (findings is { Count: > 0 })
        {
            markdown.AppendLine().AppendLine(findings[0]).AppendLine();
            foreach (var finding in findings.Skip(1))
                markdown.AppendLine(CultureInfo.InvariantCulture, $"- {finding}");
        }

        scenario += Suffix;
        markdown.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"![{title}]({scenario}.png)");
        File.WriteAllText(Path.Combine(directory, $"{scenario}.md"), markdown.ToString());

        var plot = new ScottPlot.Plot();
        var positions = Enumerable.Range(0, medians.Count).Select(i => (double)i).ToArray();
        plot.Add.Bars(positions, medians.Values.ToArray());
        plot.Axes.Bottom.SetTicks(positions, [.. medians.Keys]);
        plot.Axes.Bottom.TickLabelStyle.Rotation = 40;
        plot.Axes.Bottom.TickLabelStyle.Alignment = ScottPlot.Alignment.MiddleLeft;
        plot.Axes.Bottom.MinimumSize = 170;
        plot.Axes.Margins(bottom: 0);
        // The chart is titled by the part before the first colon or comma; the table keeps the whole title.
        plot.Title(title.Split(", ")[0].Split(": ")[0]);
        plot.Axes.Right.MinimumSize = 90;
        plot.YLabel($"median {unit}");
        plot.SavePng(Path.Combine(directory, $"{scenario}.png"), Math.Max(900, 70 * medians.Count), 560);
        return markdown.ToString();
    }

    /// <summary>A result's heading: its title, then the commit, the date, the machine, the servers and how it was run.</summary>
    public static string Header(string title, string redis, string note) => new StringBuilder()
        .AppendLine(CultureInfo.InvariantCulture, $"# {title}")
        .AppendLine()
        .AppendLine(CultureInfo.InvariantCulture, $"- commit: `{Git("rev-parse --short HEAD")}`{(Git("status --porcelain -- src tests bench/CacheFlow.Bench").Length > 0 ? " (with uncommitted changes to the code)" : "")}")
        .AppendLine(CultureInfo.InvariantCulture, $"- date: {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC")
        .AppendLine(CultureInfo.InvariantCulture, $"- machine: {Environment.ProcessorCount} cores, {CpuModel()}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}")
        .AppendLine(CultureInfo.InvariantCulture, $"- Redis: {redis}")
        .AppendLine(CultureInfo.InvariantCulture, $"- {note}")
        .AppendLine()
        .ToString();

    public static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "CacheFlow.slnx")))
            directory = directory.Parent;
        return directory?.FullName ?? Directory.GetCurrentDirectory();
    }

    public static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string CpuModel() =>
        File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU"
            : "unknown CPU";

    private static string Git(string arguments)
    {
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", arguments) { RedirectStandardOutput = true, WorkingDirectory = RepositoryRoot() })!;
            var output = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit();
            return output;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }
}
