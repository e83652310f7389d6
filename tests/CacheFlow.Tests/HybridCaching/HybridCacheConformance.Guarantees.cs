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

    [Fact]
    public async Task AValueLoadedBeforeARemovalIsNotServedAfterIt()
    {
        var loader = NewInstance();
        var writer = NewInstance();
        var database = new Frozen(1, "v1");
        var readTheDatabase = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // The loader misses, reads v1 from the database, and is held before it returns it to the cache.
        var load = loader.GetOrCreateAsync(Key(), async _ =>
        {
            var read = Volatile.Read(ref database);
            readTheDatabase.SetResult();
            await release.Task;
            return read;
        }).AsTask();
        await Bounded(readTheDatabase.Task);

        // Meanwhile the data changes to v2 and, as the app must, the writer removes the cached entry.
        Volatile.Write(ref database, new Frozen(2, "v2"));
        await Bounded(writer.RemoveAsync(Key()));
        release.SetResult();
        // What the held load hands its own caller is not the question; what the cache keeps afterwards is.
        await Bounded(load);

        ValueTask<Frozen> FromDatabase(CancellationToken _) => ValueTask.FromResult(Volatile.Read(ref database));
        var later = new[]
        {
            await Bounded(loader.GetOrCreateAsync(Key(), FromDatabase)),
            await Bounded(writer.GetOrCreateAsync(Key(), FromDatabase)),
            await Bounded(NewInstance().GetOrCreateAsync(Key(), FromDatabase)),
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
    /// As <see cref="AValueLoadedBeforeARemovalIsNotServedAfterIt"/>, for a caller of the same instance that starts
    /// after the removal while the load is still held, and cannot cancel (an immutable value's callers that cannot
    /// cancel share one load): it must not be handed the value the held load read before the removal.
    /// </summary>
    [Fact]
    public async Task ACallerThatStartsAfterARemovalIsNotHandedALoadThatReadBeforeIt()
    {
        var loader = NewInstance();
        var writer = NewInstance();
        var database = new Frozen(1, "v1");
        var readTheDatabase = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ValueTask<Frozen> FromDatabase(CancellationToken _) => ValueTask.FromResult(Volatile.Read(ref database));

        var load = loader.GetOrCreateAsync(Key(), async _ =>
        {
            var read = Volatile.Read(ref database);
            readTheDatabase.TrySetResult();
            await release.Task;
            return read;
        }).AsTask();
        await Bounded(readTheDatabase.Task);
        Volatile.Write(ref database, new Frozen(2, "v2"));
        await Bounded(writer.RemoveAsync(Key()));

        var after = loader.GetOrCreateAsync(Key(), FromDatabase).AsTask();
        release.SetResult();
        await Bounded(load);

        if (KeepsNoStaleSet)
            Assert.Equal(new Frozen(2, "v2"), await Bounded(after));
        else
            Assert.Equal(new Frozen(1, "v1"), await Bounded(after));
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
