namespace CacheFlow.Api.Tests.History;

/// <summary>
/// Checks a history of reads and writes against the guarantee of the cache: a read that starts after a write was
/// acknowledged returns that write's version or a newer one. Versions of one key are written in increasing order
/// (one write of a key at a time), so "newer" is "greater". A read concurrent with a write may return either version;
/// only a write whose answer arrived before the read was sent counts against it.
/// </summary>
public static class HistoryChecker
{
    /// <summary>Every read of the history that returned a version superseded before it started, in history order.</summary>
    public static IReadOnlyList<StaleRead> StaleReads(IEnumerable<HistoryOperation> history)
    {
        var operations = history.ToList();
        // Per key, the acknowledged writes by when they were acknowledged.
        var writes = operations.Where(o => o.Acknowledged).GroupBy(o => o.Key)
            .ToDictionary(g => g.Key, g => g.OrderBy(w => w.End).ToList());
        var stale = new List<StaleRead>();
        foreach (var read in operations.Where(o => !o.IsWrite && o.Version is not null))
        {
            if (!writes.TryGetValue(read.Key, out var keyWrites))
                continue;
            // The earliest acknowledgment of a newer version: the moment the version read stopped being current.
            var superseding = keyWrites.FirstOrDefault(w => w.Version > read.Version);
            if (superseding is not null && superseding.End < read.Start)
                stale.Add(new StaleRead(read, superseding));
        }

        return stale;
    }
}
