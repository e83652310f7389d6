namespace CacheFlow.Bench;

/// <summary>The scenarios: each runs once for one variant and returns its figure.</summary>
public static class Scenarios
{
    /// <summary>
    /// A cold key, <paramref name="requests"/> concurrent reads released together over <paramref name="processes"/>
    /// instances of the variant (each with its own connection). Returns how many times the database was read (each
    /// load takes 50 ms).
    /// </summary>
    public static async Task<double> StampedeAsync(string variant, string redis, int processes = 4, int requests = 1000)
    {
        var prefix = $"bench:{Guid.NewGuid():N}:";
        var instances = await Task.WhenAll(Enumerable.Range(0, processes).Select(_ => CacheVariant.All[variant](redis, prefix)));
        try
        {
            var loads = 0;
            var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var readers = Enumerable.Range(0, requests).Select(i => Task.Run(async () =>
            {
                await go.Task;
                return await instances[i % processes].GetOrLoadAsync("hot", async ct =>
                {
                    Interlocked.Increment(ref loads);
                    await Task.Delay(50, ct);
                    return 1;
                });
            })).ToArray();
            go.SetResult();
            await Task.WhenAll(readers).WaitAsync(TimeSpan.FromMinutes(2));
            return loads;
        }
        finally
        {
            foreach (var instance in instances)
                await instance.DisposeAsync();
        }
    }

    /// <summary>
    /// The stale-set race under a random mix: 6 readers and 2 writers on 4 hot keys, spread over
    /// <paramref name="processes"/> instances of the variant, <paramref name="operations"/> operations in all (bounded
    /// to a minute). A writer bumps a key's version in the "database", invalidates, then acknowledges; a read counts as
    /// a violation when it returns a version older than one acknowledged before the read began. Returns the violations.
    /// </summary>
    public static async Task<double> RaceAsync(string variant, string redis, int seed, int processes, int operations = 4000)
    {
        const int keys = 4, readers = 6, writers = 2;
        var prefix = $"bench:{Guid.NewGuid():N}:";
        var instances = await Task.WhenAll(Enumerable.Range(0, processes).Select(_ => CacheVariant.All[variant](redis, prefix)));
        try
        {
            return await RaceAsync(instances, seed, operations, keys, readers, writers);
        }
        finally
        {
            foreach (var instance in instances)
                await instance.DisposeAsync();
        }
    }

    private static async Task<double> RaceAsync(CacheVariant[] instances, int seed, int operations, int keys, int readers, int writers)
    {
        var versions = new int[keys];
        var acknowledged = new int[keys];
        var violations = 0;
        var perTask = operations / (readers + writers);
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(1));

        async Task ReadAsync(CacheVariant cache, Random random)
        {
            for (var i = 0; i < perTask && !deadline.IsCancellationRequested; i++)
            {
                var k = random.Next(keys);
                var floor = Volatile.Read(ref acknowledged[k]);
                var value = await cache.GetOrLoadAsync($"row:{k}", async _ =>
                {
                    var version = Volatile.Read(ref versions[k]);
                    await Task.Delay(random.Next(3));
                    return version;
                });
                if (value < floor)
                    Interlocked.Increment(ref violations);
            }
        }

        async Task WriteAsync(CacheVariant cache, Random random)
        {
            for (var i = 0; i < perTask && !deadline.IsCancellationRequested; i++)
            {
                var k = random.Next(keys);
                var version = Interlocked.Increment(ref versions[k]);
                await cache.InvalidateAsync($"row:{k}");
                int seen;
                while ((seen = Volatile.Read(ref acknowledged[k])) < version && Interlocked.CompareExchange(ref acknowledged[k], version, seen) != seen)
                {
                    // Retry until the acknowledged version is at least ours.
                }

                await Task.Delay(random.Next(4));
            }
        }

        await Task.WhenAll(
            Enumerable.Range(0, readers).Select(r => Task.Run(() => ReadAsync(instances[r % instances.Length], new Random(seed + r))))
                .Concat(Enumerable.Range(0, writers).Select(w => Task.Run(() => WriteAsync(instances[w % instances.Length], new Random(seed + 100 + w))))));
        return violations;
    }
}
