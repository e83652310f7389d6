using StackExchange.Redis;

namespace CacheFlow.Tests;

/// <summary>
/// Stampedes, leases and the stale-set race, with interleavings forced by gates. Each property has a control that
/// runs the same test with the mechanism off and shows it fail.
/// </summary>
/// <remarks>
/// A read that may load takes the key's lease as it reads (a placeholder in the entry key, <c>SET NX GET</c>): a lone
/// miss reaches the factory with the lease in hand, and a reader that finds another load's placeholder waits for it.
/// </remarks>
public abstract class ConcurrencyTests(IRedisBackend backend)
{
    private const int Callers = 200;

    private IConnectionMultiplexer Redis => backend.Redis;

    private CacheFlowCache Create(IConnectionMultiplexer redis, TimeProvider? time = null, Action<CacheFlowOptions>? configure = null) =>
        TestCaches.Create(redis, time, configure);

    [Fact]
    public async Task TwoHundredConcurrentMissesInOneProcessLoadOnce() =>
        Assert.Equal(1, await StampedeAsync(processes: 1, CacheProtections.All));

    [Fact]
    public async Task ControlWithoutSingleFlightAndLeasesEveryConcurrentMissLoads() =>
        Assert.Equal(Callers, await StampedeAsync(processes: 1, CacheProtections.None));

    [Fact]
    public async Task ConcurrentMissesInThreeProcessesSharingRedisLoadOnce() =>
        Assert.Equal(1, await StampedeAsync(processes: 3, CacheProtections.All));

    [Fact]
    public async Task ControlWithoutLeasesEveryProcessLoads() =>
        Assert.True(await StampedeAsync(processes: 3, CacheProtections.SingleFlight) >= 3);

    [Fact]
    public async Task AReadRacingAnInvalidationCannotWriteTheOldValueBack()
    {
        var (read, cached, leaseLost) = await StaleSetRaceAsync(CacheProtections.All);

        Assert.Equal(1, read);
        Assert.NotEqual(1, cached);
        Assert.Equal(1, leaseLost);
    }

    [Fact]
    public async Task ControlWithoutLeasesTheRacingReadLeavesTheOldValueInTheCache()
    {
        var (_, cached, leaseLost) = await StaleSetRaceAsync(CacheProtections.SingleFlight);

        Assert.Equal(1, cached);
        Assert.Equal(0, leaseLost);
    }

    [Fact]
    public async Task AReadRacingAPrefixRemovalCannotWriteTheOldValueBack()
    {
        var (read, cached, leaseLost) = await StaleSetRaceAsync(CacheProtections.All, static c => c.RemoveByPrefixAsync("row:").AsTask());

        Assert.Equal((1, 1L), (read, leaseLost));
        Assert.NotEqual(1, cached);
    }

    [Fact]
    public async Task ControlWithoutLeasesTheReadRacingAPrefixRemovalLeavesTheOldValueInTheCache()
    {
        var (_, cached, leaseLost) = await StaleSetRaceAsync(CacheProtections.SingleFlight, static c => c.RemoveByPrefixAsync("row:").AsTask());

        Assert.Equal((1, 0L), (cached, leaseLost));
    }

    [Fact]
    public async Task AReadRacingAWriteThroughCannotWriteTheOldValueOverTheNewOne()
    {
        var (read, cached, leaseLost) = await StaleSetRaceAsync(CacheProtections.All, static c => c.SetAsync("row:1", 2).AsTask());

        Assert.Equal((1, 2, 1L), (read, cached, leaseLost));
    }

    [Fact]
    public async Task ControlWithoutLeasesTheReadRacingAWriteThroughWritesTheOldValueOverTheNewOne()
    {
        var (_, cached, leaseLost) = await StaleSetRaceAsync(CacheProtections.SingleFlight, static c => c.SetAsync("row:1", 2).AsTask());

        Assert.Equal((1, 0L), (cached, leaseLost));
    }

    [Fact]
    public async Task ALoaderThatHangsLosesItsLeaseAndAnotherCallerLoads()
    {
        var prefix = $"hang{Guid.NewGuid():N}:";
        await using var redisA = await backend.ConnectAsync();
        await using var redisB = await backend.ConnectAsync();
        using var a = Create(redisA, configure: o => { o.KeyPrefix = prefix; o.LeaseDuration = TimeSpan.FromMilliseconds(300); });
        using var b = Create(redisB, configure: o => { o.KeyPrefix = prefix; o.LeaseDuration = TimeSpan.FromMilliseconds(300); });
        var hung = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var stuck = a.GetOrCreateAsync("item:1", async _ =>
        {
            entered.SetResult();
            await hung.Task;
            return new Item(1, "from the hung loader");
        }).AsTask();
        await entered.Task;
        var other = await b.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "from b"))).Within();

        Assert.Equal((CacheOutcome.Miss, "from b"), (other.Outcome, other.Value!.Name));
        hung.SetResult();
        Assert.Equal("from the hung loader", (await stuck).Value!.Name);
        Assert.Equal(1, a.GetStatistics().Total.LeaseLost);
        var cached = await b.GetOrCreateAsync<Item>("item:1", _ => throw new InvalidOperationException("cached")).Within();
        Assert.Equal((CacheOutcome.Hit, "from b"), (cached.Outcome, cached.Value!.Name));
    }

    /// <remarks>
    /// The flight's owner awaits its own run of the load, which throws for it, where its token cannot be cancelled, and
    /// the flight's completion where it can (<paramref name="cancellable"/>); its joiners, the flight's completion.
    /// </remarks>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AFactoryThatThrowsGivesEveryWaiterTheErrorAndFreesTheLease(bool cancellable)
    {
        var prefix = $"throw{Guid.NewGuid():N}:";
        using var cache = Create(Redis, configure: o => o.KeyPrefix = prefix);
        using var never = new CancellationTokenSource();
        var token = cancellable ? never.Token : CancellationToken.None;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var loads = 0;
        var callers = Enumerable.Range(0, 50).Select(_ => Task.Run(async () =>
            await cache.GetOrCreateAsync<Item>("item:1", async _ =>
            {
                Interlocked.Increment(ref loads);
                await release.Task;
                throw new TimeoutException("the database timed out");
            }, cancellationToken: token))).ToArray();
        await Eventually.TrueAsync(() => cache.GetStatistics().Total.Misses == 50 && Volatile.Read(ref loads) == 1, "all callers missed and one loads");
        release.SetResult();

        foreach (var caller in callers)
            await Assert.ThrowsAsync<TimeoutException>(() => caller);
        Assert.Equal(1, loads);
        Assert.False(await LeaseProbe.HeldAsync(Redis.GetDatabase(), $"{prefix}{{item:1}}"));
        var next = await cache.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "recovered"))).Within();
        Assert.Equal((CacheOutcome.Miss, "recovered"), (next.Outcome, next.Value!.Name));
    }

    /// <remarks>
    /// The owner gives up (its token fires) while the factory runs; the factory then fails. Nobody waits for the flight
    /// or the owner's run any more: their failure is observed all the same, so the runtime never reports it as
    /// unobserved (<see cref="TaskScheduler.UnobservedTaskException"/>, raised when the failed task is collected).
    /// The failure's message is this test's own, so other tests' unobserved failures do not count.
    /// </remarks>
    [Fact]
    public async Task ALoadThatFailsAfterEveryCallerGaveUpLeavesNoUnobservedFailure()
    {
        var message = $"failed after its callers left {Guid.NewGuid():N}";
        var unobserved = 0;
        EventHandler<UnobservedTaskExceptionEventArgs> seen = (_, e) =>
        {
            if (e.Exception.Flatten().InnerExceptions.Any(x => x.Message == message))
                Interlocked.Increment(ref unobserved);
        };
        TaskScheduler.UnobservedTaskException += seen;
        try
        {
            await GiveUpThenFailAsync(message);
            // The failure reaches the flight a moment after the factory's (on the load's thread): the collections are
            // repeated for a while, so a failed task left unobserved is collected and reported before the check.
            for (var i = 0; i < 20; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                await Task.Delay(10);
            }

            Assert.Equal(0, Volatile.Read(ref unobserved));
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= seen;
        }
    }

    private async Task GiveUpThenFailAsync(string message)
    {
        using var cache = Create(Redis, configure: o => o.KeyPrefix = $"gaveup{Guid.NewGuid():N}:");
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var leave = new CancellationTokenSource();
        var owner = cache.GetOrCreateAsync<Item>("item:1", async _ =>
        {
            entered.TrySetResult();
            await release.Task;
            throw new InvalidOperationException(message);
        }, cancellationToken: leave.Token).AsTask();
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(20));

        await leave.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => owner.WaitAsync(TimeSpan.FromSeconds(20)));
        release.SetResult();
        await Eventually.TrueAsync(() => cache.GetStatistics().Total.LoadFailures == 1, "the load failed after its owner left");
    }

    [Fact]
    public async Task AHundredConcurrentReadsOfAMissingIdLoadOnceAndTheNullIsCachedUntilTheRowIsCreated()
    {
        using var cache = Create(Redis);
        var options = new CacheEntryOptions { NullDuration = TimeSpan.FromSeconds(30) };
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var loads = 0;
        var readers = Enumerable.Range(0, 100).Select(_ => Task.Run(async () =>
            await cache.GetOrCreateJsonAsync<Item?>("user:404", async _ =>
            {
                Interlocked.Increment(ref loads);
                await release.Task;
                return null;
            }, options))).ToArray();
        await Eventually.TrueAsync(() => cache.GetStatistics().Total.Misses == 100 && Volatile.Read(ref loads) >= 1, "all readers missed");
        release.SetResult();

        Assert.All(await Task.WhenAll(readers), r => Assert.True(r.IsNull));
        var later = await cache.GetOrCreateJsonAsync<Item?>("user:404", _ => throw new InvalidOperationException("cached"), options).Within();
        Assert.Equal((CacheOutcome.Hit, true), (later.Outcome, later.IsNull));
        Assert.Equal(1, loads);

        await cache.SetAsync("user:404", new Item(404, "created"), options);
        var created = await cache.GetOrCreateAsync<Item>("user:404", _ => throw new InvalidOperationException("cached"), options).Within();
        Assert.Equal((CacheOutcome.Hit, "created"), (created.Outcome, created.Value!.Name));
    }

    /// <summary>
    /// A soak, bounded in operations and time, with a fixed seed: readers and writers on a few hot keys through two
    /// cache instances (two connections, as two processes). A writer bumps the source's version, invalidates, and only
    /// then acknowledges; a read that starts after an acknowledgement must return that version or newer.
    /// </summary>
    [Fact]
    public async Task UnderRandomConcurrentReadsAndWritesNoReadReturnsAVersionOlderThanAnAcknowledgedWrite()
    {
        const int keys = 3, readers = 6, writers = 2, operationsPerTask = 400;
        var prefix = $"soak{Guid.NewGuid():N}:";
        await using var otherConnection = await backend.ConnectAsync();
        using var first = Create(Redis, configure: o => o.KeyPrefix = prefix);
        using var second = Create(otherConnection, configure: o => o.KeyPrefix = prefix);
        CacheFlowCache[] caches = [first, second];
        var versions = new int[keys];
        var acknowledged = new int[keys];
        var violations = 0;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        async Task ReadAsync(int seed)
        {
            var random = new Random(seed);
            for (var i = 0; i < operationsPerTask && !deadline.IsCancellationRequested; i++)
            {
                var k = random.Next(keys);
                var floor = Volatile.Read(ref acknowledged[k]);
                var read = await caches[random.Next(2)].GetOrCreateAsync($"row:{k}", async _ =>
                {
                    var version = Volatile.Read(ref versions[k]);
                    await Task.Delay(random.Next(3), CancellationToken.None);
                    return version;
                });
                if (read.Outcome != CacheOutcome.Stale && read.Value < floor)
                    Interlocked.Increment(ref violations);
            }
        }

        async Task WriteAsync(int seed)
        {
            var random = new Random(seed);
            for (var i = 0; i < operationsPerTask / 4 && !deadline.IsCancellationRequested; i++)
            {
                var k = random.Next(keys);
                var version = Interlocked.Increment(ref versions[k]);
                await caches[random.Next(2)].RemoveAsync($"row:{k}");
                InterlockedMax(ref acknowledged[k], version);
                await Task.Delay(random.Next(4), CancellationToken.None);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, readers).Select(r => Task.Run(() => ReadAsync(1000 + r)))
            .Concat(Enumerable.Range(0, writers).Select(w => Task.Run(() => WriteAsync(2000 + w)))));

        Assert.Equal(0, violations);
        var total = CacheFamilyStatistics.Sum([first.GetStatistics().Total, second.GetStatistics().Total]);
        Assert.True(total.Hits > 0 && total.Loads > 0, $"the soak exercised the cache: {total}");
    }

    private static void InterlockedMax(ref int location, int value)
    {
        var current = Volatile.Read(ref location);
        while (current < value && Interlocked.CompareExchange(ref location, value, current) is var seen && seen != current)
            current = seen;
    }

    /// <summary>
    /// <see cref="Callers"/> concurrent reads of one cold key, spread over <paramref name="processes"/> caches with
    /// connections of their own; the loader is held at a gate until every caller has missed. Returns the loads.
    /// </summary>
    private async Task<int> StampedeAsync(int processes, CacheProtections protections)
    {
        var prefix = $"stampede{Guid.NewGuid():N}:";
        var connections = await Task.WhenAll(Enumerable.Range(0, processes).Select(_ => backend.ConnectAsync()));
        var caches = connections.Select(c => Create(c, configure: o => { o.KeyPrefix = prefix; o.Protections = protections; })).ToArray();
        try
        {
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var loads = 0;
            var readers = Enumerable.Range(0, Callers).Select(i => Task.Run(async () =>
                await caches[i % processes].GetOrCreateAsync("hot:1", async _ =>
                {
                    Interlocked.Increment(ref loads);
                    await release.Task;
                    return new Item(1, "hot");
                }))).ToArray();
            var expected = protections.HasFlag(CacheProtections.Leases) ? 1 : protections.HasFlag(CacheProtections.SingleFlight) ? processes : Callers;
            await Eventually.TrueAsync(() => caches.Sum(c => c.GetStatistics().Total.Misses) == Callers && Volatile.Read(ref loads) >= expected,
                $"all {Callers} callers missed and {expected} loads began");
            release.SetResult();

            Assert.All(await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(20)), r => Assert.Equal("hot", r.Value!.Name));
            return loads;
        }
        finally
        {
            foreach (var cache in caches)
                cache.Dispose();
            foreach (var connection in connections)
                await connection.DisposeAsync();
        }
    }

    /// <summary>
    /// The cache-aside race, forced: a reader misses and reads version 1, and is held; a writer commits version 2 and
    /// invalidates; the reader is released and writes back. Returns what the reader got, what the cache then holds
    /// (-1 for nothing), and the lease-lost count.
    /// </summary>
    /// <summary>
    /// A read of row:1 loads version 1 and is held at a gate before its write-back while the row becomes version 2 and
    /// <paramref name="invalidate"/> runs (a removal of the key by default); then the write-back goes on. Returns what the
    /// read returned, what the cache holds after, and how many write-backs lost their lease.
    /// </summary>
    private async Task<(int Read, int Cached, long LeaseLost)> StaleSetRaceAsync(CacheProtections protections, Func<CacheFlowCache, Task>? invalidate = null)
    {
        using var cache = Create(Redis, configure: o => o.Protections = protections);
        var source = 1;
        var readDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var reader = Task.Run(async () => await cache.GetOrCreateAsync("row:1", async _ =>
        {
            var version = Volatile.Read(ref source);
            readDone.SetResult();
            await resume.Task;
            return version;
        }));
        await readDone.Task;
        Volatile.Write(ref source, 2);
        await (invalidate ?? (static c => c.RemoveAsync("row:1").AsTask()))(cache);
        resume.SetResult();
        var read = await reader.WaitAsync(TimeSpan.FromSeconds(20));

        var cached = await cache.GetOrCreateAsync("row:1", _ => ValueTask.FromResult(-1)).Within();
        return (read.Value, cached.Value, cache.GetStatistics().Total.LeaseLost);
    }
}

public sealed class GarnetConcurrencyTests(GarnetBackend backend) : ConcurrencyTests(backend), IClassFixture<GarnetBackend>;

public sealed class RedisConcurrencyTests(RealRedisBackend backend) : ConcurrencyTests(backend), IClassFixture<RealRedisBackend>;

public sealed class ClusterConcurrencyTests(ClusterBackend backend) : ConcurrencyTests(backend), IClassFixture<ClusterBackend>;
