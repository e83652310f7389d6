using CacheFlow.Redis;
using System.Text;

namespace CacheFlow.Tests;

public sealed class CacheEntryTests
{
    [Fact]
    public void HeaderRoundTripsAndPayloadIsTheBytesAfterIt()
    {
        var json = "{\"id\":1}"u8.ToArray();
        var stored = new byte[CacheEntry.HeaderSize + json.Length];
        var written = new CacheEntry(CacheEntryFlags.Null, 1_000, 2_000, 42, 7);
        written.WriteHeader(stored);
        json.CopyTo(stored, CacheEntry.HeaderSize);

        Assert.True(CacheEntry.TryRead(stored, out var read, out var payload));
        Assert.Equal(written, read);
        Assert.Equal(json, payload.ToArray());
    }

    [Theory]
    [InlineData("")]
    [InlineData("{\"id\":1}")]
    [InlineData("a plain string value written by someone else, long enough for a header")]
    public void ForeignValuesAreNotEntries(string value) =>
        Assert.False(CacheEntry.TryRead(Encoding.UTF8.GetBytes(value), out _, out _));

    [Fact]
    public void ATaggedEntrysPayloadEndsWhereItsTagsBeginAndTheTagsMatchOnlyTheirOwnCurrentVersions()
    {
        var json = "{\"id\":1}"u8.ToArray();
        var room = new byte[CacheEntry.HeaderSize + json.Length];
        json.CopyTo(room, CacheEntry.HeaderSize);
        var stored = EntryTags.Append(room, ["lists", "pägës"], [7, 9], out var length);
        new CacheEntry(CacheEntryFlags.None, 1_000, 2_000, 0, 1, length).WriteHeader(stored.Span);

        var entry = StoredEntry.From(stored.ToArray())!.Value;

        Assert.Equal(json, entry.Json.ToArray());
        Assert.Equal(["lists", "pägës"], EntryTags.Names(entry.Tags.Span));
        Assert.True(EntryTags.Match(entry.Tags.Span, ["lists", "pägës"], [7, 9]));
        Assert.False(EntryTags.Match(entry.Tags.Span, ["lists", "pägës"], [7, 10]));
        Assert.False(EntryTags.Match(entry.Tags.Span, ["lists", "pägës"], [7, null]));
        Assert.False(EntryTags.Match(entry.Tags.Span, ["pägës", "lists"], [9, 7]));
        Assert.False(EntryTags.Match(entry.Tags.Span, ["lists"], [7]));
        Assert.False(EntryTags.Match(entry.Tags.Span, ["lists", "pägës", "more"], [7, 9, 1]));
        Assert.True(EntryTags.Match(ReadOnlySpan<byte>.Empty, [], []));
        Assert.False(EntryTags.Match(ReadOnlySpan<byte>.Empty, ["lists"], [7]));
    }

    [Fact]
    public void AnEntryOfTheFormatBeforeTagsOrWithATagLengthPastItsEndIsNotAnEntry()
    {
        var stored = new byte[CacheEntry.HeaderSize + 4];
        new CacheEntry(CacheEntryFlags.None, 1_000, 2_000, 0, 1).WriteHeader(stored);
        Assert.True(CacheEntry.TryRead(stored, out _, out _));

        stored[0] = 1;
        Assert.False(CacheEntry.TryRead(stored, out _, out _));

        new CacheEntry(CacheEntryFlags.None, 1_000, 2_000, 0, 1, TagsLength: 5).WriteHeader(stored);
        Assert.False(CacheEntry.TryRead(stored, out _, out _));
    }
}
