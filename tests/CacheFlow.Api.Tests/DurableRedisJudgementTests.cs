using CacheFlow.Api.Redis;

namespace CacheFlow.Api.Tests;

/// <summary>
/// What the check of the Redis that holds durable data makes of the settings each primary reports (the real servers'
/// answers are in <see cref="DurableRedisCheckTests"/>): whatever can lose an accepted write is unsafe and says what
/// to change; whatever is not reported is unverified.
/// </summary>
public sealed class DurableRedisJudgementTests
{
    private const string Endpoint = "10.0.0.1:6379";

    private static readonly Dictionary<string, (DurableServerSettings Settings, DurableRedisState Expected, string Problem)> Cases = new()
    {
        ["no limit evicts nothing, whatever the policy"] = (Redis(0, "allkeys-lru", "yes"), DurableRedisState.Safe, ""),
        ["a limit without eviction refuses writes (OOM) rather than drop keys"] = (Redis(32 << 20, "noeviction", "yes"), DurableRedisState.Safe, ""),
        ["allkeys-lru drops any key"] = (Redis(32 << 20, "allkeys-lru", "yes"), DurableRedisState.Unsafe, "maxmemory-policy allkeys-lru): set maxmemory-policy noeviction there"),
        ["allkeys-lfu drops any key"] = (Redis(32 << 20, "allkeys-lfu", "yes"), DurableRedisState.Unsafe, "evicts any key when full"),
        ["allkeys-random drops any key"] = (Redis(32 << 20, "allkeys-random", "yes"), DurableRedisState.Unsafe, "evicts any key when full"),
        ["volatile-lru drops write statuses (they have a TTL)"] = (Redis(32 << 20, "volatile-lru", "yes"), DurableRedisState.Unsafe, "write statuses have one"),
        ["volatile-ttl drops write statuses too"] = (Redis(32 << 20, "volatile-ttl", "yes"), DurableRedisState.Unsafe, "write statuses have one"),
        ["no append-only file loses writes on a restart"] = (Redis(0, "noeviction", "no"), DurableRedisState.Unsafe,
            "appendonly no, so a restart loses every write since its last snapshot: set appendonly yes there"),
        ["CONFIG refused cannot be verified"] = (new DurableServerSettings(Endpoint, null, null) { Refused = "ERR unknown command 'CONFIG'" }, DurableRedisState.Unverified,
            "refused to report its configuration (ERR unknown command 'CONFIG')"),
        ["a setting not reported cannot be verified"] = (Redis(32 << 20, null, "yes"), DurableRedisState.Unverified, "did not report maxmemory, maxmemory-policy and appendonly"),
        ["Garnet with an AOF and a storage tier keeps everything"] = (Garnet("yes", "/data/garnet"), DurableRedisState.Safe, ""),
        ["Garnet without a storage tier drops the oldest records"] = (Garnet("yes", ""), DurableRedisState.Unsafe, "without a storage tier"),
        ["Garnet without an AOF loses writes on a restart"] = (Garnet("no", "/data/garnet"), DurableRedisState.Unsafe, "start it with --aof --aof-commit-wait"),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void EachSettingIsJudgedAndAProblemSaysWhatToChange(string why)
    {
        var (settings, expected, problem) = Cases[why];
        var verdict = DurableRedisInspector.Judge([settings]);

        Assert.True(expected == verdict.State, $"{why}: {verdict.State}, {verdict.Summary}");
        if (expected == DurableRedisState.Safe)
            Assert.Empty(verdict.Problems);
        else
            Assert.Contains(verdict.Problems, p => p.StartsWith(Endpoint, StringComparison.Ordinal) && p.Contains(problem, StringComparison.Ordinal));
        Assert.StartsWith(Endpoint, verdict.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void OneLossyPrimaryOfSeveralMakesTheWholeUnsafeAndIsTheOneNamed()
    {
        var verdict = DurableRedisInspector.Judge([
            Redis(0, "noeviction", "yes") with { Endpoint = "10.0.0.1:7000" },
            Redis(64 << 20, "allkeys-lru", "yes") with { Endpoint = "10.0.0.2:7000" },
            new DurableServerSettings("10.0.0.3:7000", null, null) { Refused = "NOPERM" },
        ]);

        Assert.Equal(DurableRedisState.Unsafe, verdict.State);
        Assert.Equal(2, verdict.Problems.Count);
        Assert.StartsWith("10.0.0.2:7000 evicts any key", verdict.Problems[0], StringComparison.Ordinal);
        Assert.StartsWith("10.0.0.3:7000 refused", verdict.Problems[1], StringComparison.Ordinal);
        Assert.Contains("10.0.0.1:7000 (redis 7.0.15): maxmemory 0, maxmemory-policy noeviction, appendonly yes, appendfsync everysec", verdict.Summary, StringComparison.Ordinal);
    }

    private static DurableServerSettings Redis(long maxMemory, string? policy, string appendOnly) => new(Endpoint, "redis", "7.0.15")
    {
        MaxMemory = maxMemory,
        MaxMemoryPolicy = policy,
        AppendOnly = appendOnly,
        AppendFsync = "everysec",
    };

    private static DurableServerSettings Garnet(string appendOnly, string storageTier) => new(Endpoint, "garnet", "2.2.8")
    {
        AppendOnly = appendOnly,
        StorageTier = storageTier,
    };
}
