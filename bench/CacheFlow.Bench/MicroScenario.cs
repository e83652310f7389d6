using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace CacheFlow.Bench;

/// <summary>Runs <see cref="HitPathBenchmarks"/> in this process and returns time and allocations per variant.</summary>
public static class MicroScenario
{
    /// <summary>Runs every row, or those whose names contain <paramref name="only"/>.</summary>
    public static (Dictionary<string, List<double>> Nanoseconds, Dictionary<string, string> Allocated) Run(string? only = null)
    {
        var config = ManualConfig.Create(DefaultConfig.Instance)
            .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(3).WithIterationCount(15))
            .WithOptions(ConfigOptions.DisableLogFile);
        if (only is not null)
            config = config.AddFilter(new BenchmarkDotNet.Filters.SimpleFilter(b => b.Descriptor.WorkloadMethodDisplayInfo.Contains(only, StringComparison.OrdinalIgnoreCase)));
        var summary = BenchmarkRunner.Run<HitPathBenchmarks>(config);
        var nanoseconds = new Dictionary<string, List<double>>();
        var allocated = new Dictionary<string, string>();
        foreach (var report in summary.Reports)
        {
            var name = report.BenchmarkCase.Descriptor.WorkloadMethodDisplayInfo.Trim('\'');
            nanoseconds[name] = report.ResultStatistics?.OriginalValues.ToList() ?? [double.NaN];
            allocated[name] = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase) is { } bytes
                ? bytes.ToString(CultureInfo.InvariantCulture)
                : "?";
        }

        return (nanoseconds, allocated);
    }
}
