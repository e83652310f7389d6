using CacheFlow.Metrics;
using Microsoft.Extensions.Configuration;

namespace CacheFlow.Tests;

/// <summary>Key families are bounded: a value in a key cannot make a family (a counter set, a series) per value.</summary>
public sealed class KeyFamilyTests
{
    private const int Names = 5_000;

    [Fact]
    public void FiveThousandUserNamesInKeysMakeNoMoreFamiliesThanTheCapAndOther()
    {
        using var metrics = Metrics(new CacheFlowOptions());

        var families = CountMissesByName(metrics).Families;

        Assert.Equal(100 + 1, families.Count);
        Assert.Equal((1, 1), (families["user"].Misses, families["users:list"].Misses));
        Assert.Equal(Names - 98, families[KeyFamily.Other].Misses);
    }

    [Fact]
    public void ControlWithTheCapLiftedTheSameKeysMakeAFamilyEach()
    {
        using var metrics = Metrics(new CacheFlowOptions { MaxKeyFamilies = 10_000 });

        var families = CountMissesByName(metrics).Families;

        Assert.Equal(Names + 2, families.Count);
        Assert.DoesNotContain(KeyFamily.Other, families.Keys);
    }

    [Fact]
    public void DeclaredFamiliesAreMatchedByWholeLeadingSegmentsAndAnythingElseIsOther()
    {
        using var metrics = Metrics(new CacheFlowOptions { KeyFamilies = ["user", "users:list", "user-by-name"] });

        var families = CountMissesByName(metrics, "users:listing:1", "orders:1", "user").Families;

        Assert.Equal(["other", "user", "user-by-name", "users:list"], families.Keys.Order(StringComparer.Ordinal));
        Assert.Equal((2, 1, Names, 2), (families["user"].Misses, families["users:list"].Misses,
            families["user-by-name"].Misses, families[KeyFamily.Other].Misses));
    }

    [Fact]
    public void TheFamiliesAndTheCapBindFromConfiguration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["CacheFlow:MaxKeyFamilies"] = "20",
            ["CacheFlow:KeyFamilies:0"] = "user",
            ["CacheFlow:KeyFamilies:1"] = "users:list",
        }).Build();
        var options = new CacheFlowOptions();

        configuration.GetSection("CacheFlow").Bind(options);

        Assert.Equal(20, options.MaxKeyFamilies);
        Assert.Equal(["user", "users:list"], options.KeyFamilies);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AKeyOfAKnownFamilyFindsItsCountersWithoutAllocating(bool declared)
    {
        using var metrics = Metrics(new CacheFlowOptions { KeyFamilies = declared ? ["user", "users:list"] : [] });
        var key = "users:list:page=1:limit=20";
        var counters = metrics.For(key);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1_000; i++)
            Assert.Same(counters, metrics.For(key));

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>A miss for <c>user:42</c>, a list page, then a key per user name (and <paramref name="more"/>).</summary>
    private static CacheStatistics CountMissesByName(CacheFlowMetrics metrics, params string[] more)
    {
        string[] keys = ["user:42", "users:list:page=1:limit=20", .. Enumerable.Range(0, Names).Select(i => $"user-by-name:{Letters(i)}"), .. more];
        foreach (var key in keys)
            metrics.For(key).AddMiss();
        return metrics.Snapshot();
    }

    /// <summary>A distinct letters-only name per number, as a user name in a key would be.</summary>
    internal static string Letters(int number)
    {
        var name = "";
        do
        {
            name = (char)('a' + number % 26) + name;
            number /= 26;
        }
        while (number > 0);
        return name;
    }

    private static CacheFlowMetrics Metrics(CacheFlowOptions options) => new(null, options, () => null, () => 0, () => 0);
}
