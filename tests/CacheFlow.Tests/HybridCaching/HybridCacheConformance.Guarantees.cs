using Microsoft.Extensions.Caching.Hybrid;

namespace CacheFlow.Tests.HybridCaching;

/// <summary>
/// Two guarantees beyond HybridCache's documented contract. A target that claims them (<see cref="KeepsNoStaleSet"/>,
/// <see cref="InvalidatesOtherInstancesL1"/>) must show the good behaviour; a target that does not runs the same
/// scenario as a control and must show the failure, which proves the scenario can catch it.
/// </summary>
public abstract partial class HybridCacheConformance
{
    /// <summary>How long the control waits for a propagation it expects never to come.</summary>
    private static readonly TimeSpan ControlWait = TimeSpan.FromSeconds(2);

    /// <summary>
    /// A load on one instance that read v1 from the database and is held before it returns it to the cache, while the
    /// data changes to v2 and, as the app must, another instance removes the cached entry.
    /// </summary>
    private async Task<HeldLoad> LoadHeldAcrossARemovalAsync(string key)
    {
        var held = new HeldLoad(NewInstance(), NewInstance());
        var readTheDatabase = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        held.Load = held.Loader.GetOrCreateAsync(key, async cancellationToken =>
        {
            var read = await held.FromDatabase(cancellationToken);
            readTheDatabase.TrySetResult();
            await held.Released;
            return read;
        }).AsTask();
        await Bounded(readTheDatabase.Task);

        held.Change(new Frozen(2, "v2"));
        await Bounded(held.Writer.RemoveAsync(key));
        return held;
    }

    /// <summary>The instances, the database and the gate of <see cref="LoadHeldAcrossARemovalAsync"/>.</summary>
    private sealed class HeldLoad(HybridCache loader, HybridCache writer)
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Frozen _database = new(1, "v1");

        public HybridCache Loader { get; } = loader;

        public HybridCache Writer { get; } = writer;

        public Task<Frozen> Load { get; set; } = null!;

        public Task Released => _release.Task;

        public ValueTask<Frozen> FromDatabase(CancellationToken _) => ValueTask.FromResult(Volatile.Read(ref _database));

        public void Change(Frozen value) => Volatile.Write(ref _database, value);

        /// <summary>Lets the held load return its value to the cache, and waits for it.</summary>
        public Task ReleaseAsync()
        {
            _release.SetResult();
            return Bounded(Load);
        }
    }

    [Fact]
    public async Task AValueLoadedBeforeARemovalIsNotServedAfterIt()
    {
        var held = await LoadHeldAcrossARemovalAsync(Key());

        // What the held load hands its own caller is not the question; what the cache keeps afterwards is.
        await held.ReleaseAsync();

        var later = new[]
        {
            await Bounded(held.Loader.GetOrCreateAsync(Key(), held.FromDatabase)),
            await Bounded(held.Writer.GetOrCreateAsync(Key(), held.FromDatabase)),
            await Bounded(NewInstance().GetOrCreateAsync(Key(), held.FromDatabase)),
        };

        if (KeepsNoStaleSet)
        {
            Assert.All(later, v => Assert.Equal(new Frozen(2, "v2"), v));
        }
        else
        {
            // Control: the target writes v1 back after the removal, and serves it.
            Assert.Contains(new Frozen(1, "v1"), later);
        }
    }

    /// <summary>
    /// As <see cref="AValueLoadedBeforeARemovalIsNotServedAfterIt"/>, for a caller of the loading instance that starts
    /// after the removal while the load is still held, and cannot cancel (Microsoft's gives an immutable value's callers
    /// that cannot cancel one shared task): it must not be handed the value the held load read before the removal.
    /// </summary>
    [Fact]
    public async Task ACallerThatStartsAfterARemovalIsNotHandedALoadThatReadBeforeIt()
    {
        var held = await LoadHeldAcrossARemovalAsync(Key());

        var after = held.Loader.GetOrCreateAsync(Key(), held.FromDatabase).AsTask();
        await held.ReleaseAsync();

        // Control: the target hands the late caller the held load's value.
        Assert.Equal(KeepsNoStaleSet ? new Frozen(2, "v2") : new Frozen(1, "v1"), await Bounded(after));
    }

    [Fact]
    public async Task ASetOnOneInstanceReachesTheL1OfAnother()
    {
        var (writer, reader) = await TwoInstancesHoldingAsync(new Frozen(1, "v1"), Key());

        await Bounded(writer.SetAsync(Key(), new Frozen(2, "v2")));

        await AssertReaderLearnsAsync(reader, Key(), v => v?.Id == 2);
    }

    [Fact]
    public async Task ARemoveOnOneInstanceReachesTheL1OfAnother()
    {
        var (writer, reader) = await TwoInstancesHoldingAsync(new Frozen(1, "v1"), Key());

        await Bounded(writer.RemoveAsync(Key()));

        await AssertReaderLearnsAsync(reader, Key(), v => v is null);
    }

    /// <summary>Two instances over one L2, each with <paramref name="value"/> in its own L1.</summary>
    private async Task<(HybridCache Writer, HybridCache Reader)> TwoInstancesHoldingAsync(Frozen value, string key)
    {
        var writer = NewInstance();
        var reader = NewInstance();
        await Bounded(writer.GetOrCreateAsync(key, _ => ValueTask.FromResult(value)));
        await InL2Async<Frozen>(key);
        Assert.Equal(value, await Bounded(reader.GetOrCreateAsync(key, _ => ValueTask.FromResult(new Frozen(0, "reader's factory")))));
        return (writer, reader);
    }

    private async Task AssertReaderLearnsAsync(HybridCache reader, string key, Func<Frozen?, bool> learned)
    {
        var (met, last) = await ReadUntilAsync(reader, key, learned, InvalidatesOtherInstancesL1 ? TimeSpan.FromSeconds(20) : ControlWait);
        if (InvalidatesOtherInstancesL1)
        {
            Assert.True(met, $"the other instance still serves {last} from its L1");
        }
        else
        {
            // Control: the other instance keeps serving v1 from its L1.
            Assert.False(met, "the control target was expected to keep v1 in the other instance's L1");
            Assert.Equal(new Frozen(1, "v1"), last);
        }
    }
}
