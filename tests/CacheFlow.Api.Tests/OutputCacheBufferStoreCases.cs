using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.OutputCaching;
using Microsoft.Extensions.DependencyInjection;

namespace CacheFlow.Api.Tests;

/// <summary>
/// ASP.NET Core's cases for a store that also takes and gives buffers (<see cref="IOutputCacheBufferStore"/>: its
/// Redis store's get/set tests, the parts about the interface rather than its Redis layout), and the registration case
/// only a replacing store passes (the in-memory store is added with <c>TryAdd</c>).
/// </summary>
public abstract class OutputCacheBufferStoreCases : OutputCacheStoreCases
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AStoredValueIsFetchedWhetherItWasGivenAsAnArrayOrASequence(bool asSequence)
    {
        using var built = Build();
        var store = Assert.IsAssignableFrom<IOutputCacheBufferStore>(built.Value);
        var key = Key();
        var payload = RandomBytes(1017);

        Assert.Null(await store.GetAsync(key, default));
        if (asSequence)
            await store.SetAsync(key, new ReadOnlySequence<byte>(payload), default, TimeSpan.FromSeconds(30), default);
        else
            await store.SetAsync(key, payload, null, TimeSpan.FromSeconds(30), default);

        Assert.Equal(payload, await store.GetAsync(key, default));
    }

    [Fact]
    public async Task AMissingKeyWritesNothingToThePipe()
    {
        using var built = Build();
        var store = Assert.IsAssignableFrom<IOutputCacheBufferStore>(built.Value);
        var pipe = new Pipe();

        Assert.False(await store.TryGetAsync(Key(), pipe.Writer, default));
        await pipe.Writer.CompleteAsync();
        var read = await pipe.Reader.ReadAsync();

        Assert.True(read.IsCompleted);
        Assert.True(read.Buffer.IsEmpty);
        pipe.Reader.AdvanceTo(read.Buffer.End);
    }

    [Fact]
    public async Task AValueGivenInSeveralSegmentsIsReturnedWhole()
    {
        using var built = Build();
        var store = Assert.IsAssignableFrom<IOutputCacheBufferStore>(built.Value);
        var (payload, linear) = ThreeSegments();
        var key = Key();

        await store.SetAsync(key, payload, default, TimeSpan.FromSeconds(30), default);

        Assert.Equal(linear, await store.GetAsync(key, default));
    }

    [Fact]
    public async Task AValueGivenInSeveralSegmentsIsWrittenWholeToThePipe()
    {
        using var built = Build();
        var store = Assert.IsAssignableFrom<IOutputCacheBufferStore>(built.Value);
        var (payload, linear) = ThreeSegments();
        var key = Key();
        await store.SetAsync(key, payload, default, TimeSpan.FromSeconds(30), default);
        var pipe = new Pipe();

        Assert.True(await store.TryGetAsync(key, pipe.Writer, default));
        await pipe.Writer.CompleteAsync();
        var read = await pipe.Reader.ReadAsync();

        Assert.True(read.IsCompleted);
        Assert.Equal(linear, read.Buffer.ToArray());
        pipe.Reader.AdvanceTo(read.Buffer.End);
    }

    [Fact]
    public void TheRegistrationReplacesAStoreRegisteredBefore()
    {
        var services = new ServiceCollection();
        services.AddScoped<IOutputCacheStore, OtherStore>();
        AddStore(services);
        using var provider = services.BuildServiceProvider();
        using var scope = provider.CreateScope();

        Assert.IsNotType<OtherStore>(scope.ServiceProvider.GetRequiredService<IOutputCacheStore>());
    }

    /// <summary>1,290 bytes in three segments of 1,024, starting 800 bytes into the first, as ASP.NET Core's case builds them.</summary>
    private static (ReadOnlySequence<byte> Payload, byte[] Linear) ThreeSegments()
    {
        var first = new Segment(RandomBytes(1024), null);
        var second = new Segment(RandomBytes(1024), first);
        var third = new Segment(RandomBytes(1024), second);
        var payload = new ReadOnlySequence<byte>(first, 800, third, 42);
        Assert.False(payload.IsSingleSegment);
        Assert.Equal(1290, payload.Length);
        return (payload, payload.ToArray());
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] bytes, Segment? previous)
        {
            Memory = bytes;
            if (previous is not null)
            {
                previous.Next = this;
                RunningIndex = previous.RunningIndex + previous.Memory.Length;
            }
        }
    }

    /// <summary>A store an application registered before the one under test.</summary>
    private sealed class OtherStore : IOutputCacheStore
    {
        public ValueTask EvictByTagAsync(string tag, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask<byte[]?> GetAsync(string key, CancellationToken cancellationToken) => ValueTask.FromResult<byte[]?>(null);

        public ValueTask SetAsync(string key, byte[] value, string[]? tags, TimeSpan validFor, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
