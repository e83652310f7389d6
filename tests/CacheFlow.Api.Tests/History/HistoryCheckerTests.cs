namespace CacheFlow.Api.Tests.History;

/// <summary>The history checker on hand-made histories: it finds a known stale read, and only that one.</summary>
public sealed class HistoryCheckerTests
{
    private static TimeSpan Ms(double milliseconds) => TimeSpan.FromMilliseconds(milliseconds);

    [Fact]
    public void AReadOfAVersionSupersededBeforeItStartedIsStaleWithItsLag()
    {
        var superseding = HistoryOperation.Write(key: 1, version: 2, Ms(20), Ms(30));
        var staleRead = HistoryOperation.Read(key: 1, version: 1, Ms(35), Ms(40), instance: 1);
        HistoryOperation[] history =
        [
            HistoryOperation.Write(key: 1, version: 1, Ms(0), Ms(10)),
            superseding,
            HistoryOperation.Write(key: 1, version: 3, Ms(32), Ms(50)),
            staleRead,
        ];

        var stale = Assert.Single(HistoryChecker.StaleReads(history));

        Assert.Same(staleRead, stale.Read);
        Assert.Same(superseding, stale.Superseding);
        Assert.Equal(Ms(5), stale.Lag);
    }

    [Fact]
    public void TheLagRunsFromTheFirstAcknowledgmentOfAnyNewerVersion()
    {
        HistoryOperation[] history =
        [
            // Version 3 is acknowledged before version 2 is: version 1 was superseded from 10 ms on.
            HistoryOperation.Write(key: 1, version: 3, Ms(0), Ms(10)),
            HistoryOperation.Write(key: 1, version: 2, Ms(0), Ms(20)),
            HistoryOperation.Read(key: 1, version: 1, Ms(100), Ms(101)),
        ];

        Assert.Equal(Ms(90), Assert.Single(HistoryChecker.StaleReads(history)).Lag);
    }

    [Fact]
    public void ReadsConcurrentWithAWriteOrOfTheCurrentVersionOrOfAnotherKeyAreNotStale()
    {
        HistoryOperation[] history =
        [
            HistoryOperation.Read(key: 1, version: 0, Ms(0), Ms(5)),
            HistoryOperation.Write(key: 1, version: 1, Ms(10), Ms(20)),
            // Sent before the write was acknowledged: either version is right.
            HistoryOperation.Read(key: 1, version: 0, Ms(15), Ms(25)),
            HistoryOperation.Read(key: 1, version: 0, Ms(20), Ms(25)),
            // The current version, or a newer one than any acknowledged (its write is in flight).
            HistoryOperation.Read(key: 1, version: 1, Ms(21), Ms(25)),
            HistoryOperation.Read(key: 1, version: 2, Ms(22), Ms(25)),
            // Another key, never written.
            HistoryOperation.Read(key: 2, version: 0, Ms(30), Ms(35)),
        ];

        Assert.Empty(HistoryChecker.StaleReads(history));
    }

    [Fact]
    public void AWriteThatWasNotAcknowledgedAndAReadThatFailedCountForNothing()
    {
        HistoryOperation[] history =
        [
            HistoryOperation.Write(key: 1, version: 1, Ms(0), Ms(10)),
            // A 503 write: its version is not recorded, whatever the database did with it.
            new(IsWrite: true, Instance: 0, Key: 1, Version: null, Ms(20), Ms(30), Status: 503),
            HistoryOperation.Read(key: 1, version: 1, Ms(40), Ms(45)),
            new(IsWrite: false, Instance: 0, Key: 1, Version: null, Ms(40), Ms(45), Status: 500),
        ];

        Assert.Empty(HistoryChecker.StaleReads(history));
        Assert.Equal(2, history.Count(o => o.Failed));
    }

    [Fact]
    public void EveryStaleReadOfAMixedHistoryIsCounted()
    {
        HistoryOperation[] history =
        [
            HistoryOperation.Write(key: 1, version: 1, Ms(0), Ms(10)),
            HistoryOperation.Write(key: 2, version: 1, Ms(0), Ms(10)),
            HistoryOperation.Write(key: 1, version: 2, Ms(20), Ms(30)),
            HistoryOperation.Read(key: 1, version: 1, Ms(31), Ms(32)),
            HistoryOperation.Read(key: 1, version: 0, Ms(31), Ms(32)),
            HistoryOperation.Read(key: 2, version: 0, Ms(11), Ms(12)),
            HistoryOperation.Read(key: 2, version: 1, Ms(11), Ms(12)),
            HistoryOperation.Read(key: 1, version: 2, Ms(31), Ms(32)),
        ];

        var stale = HistoryChecker.StaleReads(history);

        Assert.Equal(3, stale.Count);
        Assert.Equal([Ms(1), Ms(21), Ms(1)], stale.Select(s => s.Lag));
    }
}
