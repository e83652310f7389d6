using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;

namespace CacheFlow.Api.Tests;

/// <summary>The collection of tests that read process-wide meters: it runs alone, so no other test host's traffic is counted.</summary>
[CollectionDefinition(DisableParallelization = true)]
public sealed class MetricsCollection;

/// <summary>/metrics (Prometheus) and /cache/stats after known traffic.</summary>
[Collection(typeof(MetricsCollection))]
public sealed partial class MetricsTests : IAsyncDisposable
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("cacheflow-metrics-");
    private readonly ApiFactory _api;

    public MetricsTests() => _api = new ApiFactory(_data.FullName);

    public async ValueTask DisposeAsync()
    {
        await _api.DisposeAsync();
        _data.Delete(recursive: true);
    }

    [Fact]
    public async Task MetricsCountHitsMissesAndLoadsByFamilyAndLevelAndTimeRequestsByOutcome()
    {
        var client = _api.CreateClient();
        for (var i = 0; i < 3; i++)
            await client.GetAsync("/users/21");
        for (var i = 0; i < 2; i++)
            await client.GetAsync("/users?page=3&limit=7");

        var metrics = await client.GetStringAsync("/metrics");

        Assert.Equal(2, Value(metrics, "cacheflow_hits_total", "family=\"user\",level=\"l2\""));
        Assert.Equal(1, Value(metrics, "cacheflow_misses_total", "family=\"user\""));
        Assert.Equal(1, Value(metrics, "cacheflow_loads_total", "family=\"user\""));
        Assert.Equal(1, Value(metrics, "cacheflow_hits_total", "family=\"users:list\",level=\"l2\""));
        Assert.Equal(1, Value(metrics, "cacheflow_loads_total", "family=\"users:list\""));
        Assert.Equal(3, Value(metrics, "cacheflow_http_duration_seconds_count", "outcome=\"HIT\""));
        Assert.Equal(2, Value(metrics, "cacheflow_http_duration_seconds_count", "outcome=\"MISS\""));
        Assert.Equal(2, Value(metrics, "cacheflow_load_duration_seconds_count", "family=\"user\"") + Value(metrics, "cacheflow_load_duration_seconds_count", "family=\"users:list\""));
        Assert.Contains("http_server_request_duration_seconds", metrics);
        Assert.Contains("cacheflow_write_behind_depth", metrics);
    }

    [Fact]
    public async Task StatsShowLatencyByOutcomeAndResetZeroesTheApplicationCounters()
    {
        var client = _api.CreateClient();
        await client.GetAsync("/users/22");
        await client.GetAsync("/users/22");

        var stats = await (await client.GetAsync("/cache/stats")).JsonAsync();
        Assert.Equal(1, (int)stats["latency"]!["hit"]!["samples"]!);
        Assert.True((double)stats["latency"]!["miss"]!["p99"]! > 0);

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsync("/cache/stats/reset", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _api.CreateAdminClient().PostAsync("/cache/stats/reset", null)).StatusCode);
        var reset = await (await client.GetAsync("/cache/stats")).JsonAsync();
        Assert.Equal((0, 0, "0.00%"), ((long)reset["cache_stats"]!["hits"]!, (long)reset["cache_stats"]!["loads"]!, (string)reset["cache_stats"]!["hit_ratio"]!));
        Assert.Equal(0, (int)reset["latency"]!["hit"]!["samples"]!);
        // Prometheus counters never go down.
        Assert.Equal(1, Value(await client.GetStringAsync("/metrics"), "cacheflow_hits_total", "family=\"user\",level=\"l2\""));
    }

    [Fact]
    public async Task AnAppliedQueuedCreateRecordsItsDelayFromAcceptance()
    {
        var client = _api.CreateClient();
        var accepted = await client.PostAsJsonAsync("/users/async", new { username = "delayed", email = "delayed@example.com" });
        var statusUrl = (string)(await accepted.JsonAsync(HttpStatusCode.Accepted))["status_url"]!;
        for (var attempt = 0; attempt < 600 && (string)(await (await client.GetAsync(statusUrl)).JsonAsync())["status"]! != "done"; attempt++)
            await Task.Delay(20, TestContext.Current.CancellationToken);

        // Without a record the histogram is not exported at all, and Value fails.
        var metrics = await client.GetStringAsync("/metrics");
        Assert.Equal(1, Value(metrics, "cacheflow_write_behind_delay_seconds_count", "queue="));
        Assert.True(Value(metrics, "cacheflow_write_behind_delay_seconds_sum", "queue=") >= 0);
    }

    /// <summary>The value of the one sample of <paramref name="name"/> whose labels include <paramref name="labels"/>.</summary>
    private static double Value(string metrics, string name, string labels)
    {
        var samples = Sample().Matches(metrics).Where(m => m.Groups["name"].Value == name && m.Groups["labels"].Value.Contains(labels, StringComparison.Ordinal)).ToList();
        Assert.True(samples.Count == 1, $"one {name} with {labels} in:\n{string.Join('\n', metrics.Split('\n').Where(l => l.StartsWith(name, StringComparison.Ordinal)))}");
        return double.Parse(samples[0].Groups["value"].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"^(?<name>[a-z_]+)\{(?<labels>[^}]*)\} (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex Sample();
}
