using System.Text;
using StackExchange.Redis;

namespace CacheFlow.Tests;

/// <summary>
/// Strings and byte arrays on the typed API (and so in HybridCache) are stored as they are, as Microsoft's built-in
/// serializers store them: no JSON, so an application with no JSON metadata for them (native AOT) caches them too.
/// The JSON API keeps JSON for every type, strings included, since its bytes are a response body.
/// </summary>
public sealed class BuiltInSerializerTests(GarnetBackend backend) : IClassFixture<GarnetBackend>
{
    [Fact]
    public async Task AStringIsStoredAsItsUtf8BytesAndReadBack()
    {
        using var cache = TestCaches.Create(backend.Redis);

        await cache.SetAsync("text:1", "héllo \"quoted\"");
        var read = await cache.GetOrCreateAsync<string>("text:1", _ => throw new InvalidOperationException("a hit loads nothing"));

        Assert.Equal("héllo \"quoted\"", read.Value);
        Assert.Equal("héllo \"quoted\"", Encoding.UTF8.GetString(await PayloadAsync(cache, "text:1")));
    }

    [Fact]
    public async Task AByteArrayIsStoredAsItIsAndReadBack()
    {
        using var cache = TestCaches.Create(backend.Redis);
        byte[] bytes = [0, 1, 2, 255, (byte)'"'];

        await cache.GetOrCreateAsync("bytes:1", _ => ValueTask.FromResult(bytes));
        var read = await cache.GetOrCreateAsync<byte[]>("bytes:1", _ => throw new InvalidOperationException("a hit loads nothing"));

        Assert.Equal(bytes, read.Value);
        Assert.Equal(bytes, await PayloadAsync(cache, "bytes:1"));
    }

    [Fact]
    public async Task EmptyValuesAreCachedAndNullIsNotMistakenForThem()
    {
        using var cache = TestCaches.Create(backend.Redis, configure: o => o.DefaultNullDuration = TimeSpan.FromMinutes(1));

        await cache.SetAsync("text:empty", "");
        await cache.SetAsync("bytes:empty", Array.Empty<byte>());
        await cache.SetAsync<string?>("text:null", null);

        Assert.Equal("", (await cache.GetOrCreateAsync<string>("text:empty", _ => ValueTask.FromResult("loaded"))).Value);
        var bytes = await cache.GetOrCreateAsync<byte[]>("bytes:empty", _ => ValueTask.FromResult<byte[]>([9]));
        Assert.Empty(bytes.Value!);
        Assert.Null((await cache.GetOrCreateAsync<string?>("text:null", _ => ValueTask.FromResult<string?>("loaded"))).Value);
    }

    [Fact]
    public async Task ControlTheJsonApiStoresAStringAsJson()
    {
        using var cache = TestCaches.Create(backend.Redis);

        var read = await cache.GetOrCreateJsonAsync("text:1", _ => ValueTask.FromResult("hello"));

        var json = Encoding.UTF8.GetString(read.Json.Span);
        Assert.Equal("\"hello\"", json);
        Assert.Equal("\"hello\"", Encoding.UTF8.GetString(await PayloadAsync(cache, "text:1")));
    }

    /// <summary>What Redis holds for <paramref name="key"/> after the entry's header: the stored value.</summary>
    private async Task<byte[]> PayloadAsync(CacheFlowCache cache, string key)
    {
        var entry = (byte[])(await backend.Redis.GetDatabase().StringGetAsync((RedisKey)cache.Keys.Entry(key)))!;
        return entry[CacheFlow.Redis.CacheEntry.HeaderSize..];
    }
}
