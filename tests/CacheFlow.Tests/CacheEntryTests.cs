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
}
