using System.Collections.Concurrent;
using System.Diagnostics;
using CacheFlow.Tracing;

namespace CacheFlow.Tests;

/// <summary>
/// The spans on the <c>CacheFlow</c> activity source: a miss with its load and its commit, a lease wait behind another
/// process's load, a bypass, an invalidation, a failed load; none for a hit, which allocates no more with a listener
/// attached than without. Each test's cache has a name of its own, and its listener keeps only that cache's spans
/// (the listener is process-wide; other tests run beside it).
/// </summary>
public sealed class TracingTests(GarnetBackend backend) : IClassFixture<GarnetBackend>
{
    [Fact]
    public async Task AMissRecordsAMissSpanWithItsLoadAndItsCommitAndAHitRecordsNone()
    {
        using var spans = new Spans();
        using var cache = TestCaches.Create(backend.Redis, configure: o => o.Name = spans.Cache);

        await cache.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "one")));
        var afterMiss = spans.Names();
        await cache.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "again")));

        Assert.Equal([CacheActivities.Load, CacheActivities.Commit, CacheActivities.Miss], afterMiss);
        Assert.Equal(afterMiss, spans.Names());
        var miss = spans.Single(CacheActivities.Miss);
        Assert.Equal("miss", miss.GetTagItem(CacheActivities.Outcome));
        Assert.Equal("item", miss.GetTagItem(CacheActivities.Family));
        Assert.Equal(spans.Cache, miss.GetTagItem(CacheActivities.CacheName));
        Assert.Equal(miss.SpanId, spans.Single(CacheActivities.Load).ParentSpanId);
        Assert.Equal(miss.SpanId, spans.Single(CacheActivities.Commit).ParentSpanId);
        Assert.Equal("written", spans.Single(CacheActivities.Commit).GetTagItem(CacheActivities.CommitResult));
    }

    [Fact]
    public async Task AReadBehindAnotherProcesssLoadRecordsALeaseWaitThatEndsWithItsValue()
    {
        var (waits, loads) = await ReadBehindAnotherLoadAsync(CacheProtections.All);

        Assert.Equal("value", Assert.Single(waits).GetTagItem(CacheActivities.LeaseResult));
        Assert.Equal(1, loads);
    }

    [Fact]
    public async Task ControlWithoutLeasesTheSecondProcessLoadsItselfAndWaitsForNoLease()
    {
        var (waits, loads) = await ReadBehindAnotherLoadAsync(CacheProtections.All & ~CacheProtections.Leases);

        Assert.Empty(waits);
        Assert.Equal(2, loads);
    }

    [Fact]
    public async Task AReadWhileRedisFailsRecordsABypassAndAFailedRemovalAPendingInvalidation()
    {
        using var spans = new Spans();
        var chaos = ChaosRedis.Over(backend.Redis);
        using var cache = TestCaches.Create(chaos.Connection, configure: o => (o.Name, o.CircuitBreakDuration) = (spans.Cache, TimeSpan.Zero));
        chaos.Fault = RedisFault.Throw;

        var read = await cache.GetOrCreateAsync("item:1", _ => ValueTask.FromResult(new Item(1, "one")));
        await cache.RemoveAsync("item:2");

        Assert.Equal(CacheOutcome.Bypass, read.Outcome);
        var bypass = spans.Single(CacheActivities.Bypass);
        Assert.Equal(("redis_unavailable", "bypass"), (bypass.GetTagItem(CacheActivities.BypassReason), bypass.GetTagItem(CacheActivities.Outcome)));
        Assert.Equal(bypass.SpanId, spans.Single(CacheActivities.Load).ParentSpanId);
        // The retry loop may have tried it again already: the removal's own span is the one not marked as a retry.
        var removal = Assert.Single(spans.All(CacheActivities.Invalidate), s => s.GetTagItem(CacheActivities.InvalidationRetry) is null);
        Assert.Equal(("key", true, ActivityStatusCode.Error), (removal.GetTagItem(CacheActivities.InvalidationKind), removal.GetTagItem(CacheActivities.InvalidationPending), removal.Status));

        // The next read of the key whose removal waits goes to the source, and says why.
        await cache.GetOrCreateAsync("item:2", _ => ValueTask.FromResult(new Item(2, "two")));
        Assert.Contains(spans.All(CacheActivities.Bypass), s => (string?)s.GetTagItem(CacheActivities.BypassReason) == "invalidation_pending");
    }

    [Fact]
    public async Task AnInvalidationRecordsItsKindAndHowManyEntriesItRemoved()
    {
        using var spans = new Spans();
        using var cache = TestCaches.Create(backend.Redis, configure: o => o.Name = spans.Cache);
        await cache.SetAsync("item:1", new Item(1, "one"), new CacheEntryOptions { Tags = ["items"] });
        await cache.SetAsync("item:2", new Item(2, "two"), new CacheEntryOptions { Tags = ["items"] });

        await cache.RemoveByTagAsync("items");

        var removal = spans.Single(CacheActivities.Invalidate);
        Assert.Equal(("tag", 2L), (removal.GetTagItem(CacheActivities.InvalidationKind), removal.GetTagItem(CacheActivities.InvalidationRemoved)));
    }

    [Fact]
    public async Task AFailedLoadMarksItsSpansAsErrorsWithTheExceptionType()
    {
        using var spans = new Spans();
        using var cache = TestCaches.Create(backend.Redis, configure: o => o.Name = spans.Cache);

        await Assert.ThrowsAsync<TimeZoneNotFoundException>(async () =>
            await cache.GetOrCreateAsync<Item>("item:1", _ => throw new TimeZoneNotFoundException("the source failed")));

        foreach (var name in new[] { CacheActivities.Load, CacheActivities.Miss })
        {
            var span = spans.Single(name);
            Assert.Equal(ActivityStatusCode.Error, span.Status);
            Assert.Equal(typeof(TimeZoneNotFoundException).FullName, span.GetTagItem(CacheActivities.ErrorType));
        }
    }

    [Fact]
    public async Task AnL1HitStartsNoSpanAndAllocatesNoMoreWithAListenerAttachedThanWithout()
    {
        var name = $"trace-{Guid.NewGuid():N}";
        using var cache = TestCaches.Create(backend.Redis, configure: o => (o.Name, o.LocalCacheEnabled, o.LocalMaxAge) = (name, true, TimeSpan.FromMinutes(5)));
        await cache.SetAsync("frozen:1", new FrozenItem(1, "one"));
        // Warm: the first hits may allocate once (tiered compilation, the kept instance).
        for (var i = 0; i < 100; i++)
            await cache.GetOrCreateAsync("frozen:1", _ => ValueTask.FromResult(new FrozenItem(1, "loaded")));

        var unheard = AllocatedByHits(cache);
        using var spans = new Spans(name);
        var heard = AllocatedByHits(cache);

        TestContext.Current.TestOutputHelper?.WriteLine($"1,000 L1 hits allocated {unheard:N0} B with no listener, {heard:N0} B with one");
        Assert.Empty(spans.Names());
        // Per hit: a one-off of a few bytes in either run aside, a listener adds nothing to a hit.
        Assert.Equal(unheard / 1_000, heard / 1_000);
    }

    /// <summary>The bytes 1,000 L1 hits allocate on this thread (each completes at once, on it).</summary>
    private static long AllocatedByHits(CacheFlowCache cache)
    {
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1_000; i++)
        {
            var hit = cache.GetOrCreateAsync("frozen:1", _ => ValueTask.FromResult(new FrozenItem(1, "loaded")));
            Assert.True(hit.IsCompletedSuccessfully);
        }

        return GC.GetAllocatedBytesForCurrentThread() - allocated;
    }

    /// <summary>
    /// Two processes (two caches, two connections, one prefix): the first's load holds the key's lease at a gate while
    /// the second reads it; the spans of the second, and how many loads ran.
    /// </summary>
    private async Task<(IReadOnlyList<Activity> Waits, int Loads)> ReadBehindAnotherLoadAsync(CacheProtections protections)
    {
        using var spans = new Spans();
        var prefix = $"t{Guid.NewGuid():N}:";
        await using var other = await backend.ConnectAsync();
        using var first = TestCaches.Create(backend.Redis, configure: o => (o.KeyPrefix, o.Protections) = (prefix, protections));
        using var second = TestCaches.Create(other, configure: o => (o.KeyPrefix, o.Protections, o.Name) = (prefix, protections, spans.Cache));
        var held = new HeldLoader<Item>(new Item(1, "first"));
        var loads = 1;

        var firstRead = first.GetOrCreateAsync("item:1", held.LoadAsync).AsTask();
        await held.Reached;
        var secondRead = second.GetOrCreateAsync("item:1", _ =>
        {
            Interlocked.Increment(ref loads);
            return ValueTask.FromResult(new Item(1, "second"));
        }).AsTask();
        // The second read is waiting (or, without leases, has loaded) before the first may finish.
        await Eventually.TrueAsync(() => spans.All(CacheActivities.Miss).Count > 0 || spans.Started(CacheActivities.LeaseWait), "the second read waited or loaded");
        held.Release();
        await Task.WhenAll(firstRead, secondRead).WaitAsync(TimeSpan.FromSeconds(20));

        return (spans.All(CacheActivities.LeaseWait), Volatile.Read(ref loads));
    }

    /// <summary>Listens to the CacheFlow source, keeping the spans of one cache name (<see cref="Cache"/>), in the order they ended.</summary>
    private sealed class Spans : IDisposable
    {
        private readonly ActivityListener _listener;
        private readonly ConcurrentQueue<Activity> _stopped = new();
        private readonly ConcurrentQueue<Activity> _started = new();

        public Spans(string? cache = null)
        {
            Cache = cache ?? $"trace-{Guid.NewGuid():N}";
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == CacheFlowActivitySource.Name,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStarted = activity => Keep(_started, activity),
                ActivityStopped = activity => Keep(_stopped, activity),
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public string Cache { get; }

        public List<string> Names() => [.. _stopped.Select(a => a.OperationName)];

        public IReadOnlyList<Activity> All(string name) => [.. _stopped.Where(a => a.OperationName == name)];

        public Activity Single(string name) => Assert.Single(All(name));

        public bool Started(string name) => _started.Any(a => a.OperationName == name);

        public void Dispose() => _listener.Dispose();

        private void Keep(ConcurrentQueue<Activity> queue, Activity activity)
        {
            // The cache name is set right after the start: a span's own tags, or its parent's for one started before them.
            if ((string?)activity.GetTagItem(CacheActivities.CacheName) == Cache || (string?)activity.Parent?.GetTagItem(CacheActivities.CacheName) == Cache)
                queue.Enqueue(activity);
        }
    }
}
