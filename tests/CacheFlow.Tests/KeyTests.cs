using CacheFlow.Redis;
namespace CacheFlow.Tests;

public sealed class KeyTests
{
    [Theory]
    [InlineData("user:42", "user")]
    [InlineData("users:list:page=1:limit=20", "users:list")]
    [InlineData("users:list", "users:list")]
    [InlineData("42", KeyFamily.Other)]
    [InlineData("user:42:orders", "user")]
    [InlineData("a:b:c:1", "a:b")]
    [InlineData("user-by-name:alice", "user-by-name:alice")]
    public void FamilyIsTheLeadingNameSegments(string key, string family) =>
        Assert.Equal(family, KeyFamily.Of(key).ToString());

    [Fact]
    public void EntryKeysCarryTheirHashTag() =>
        Assert.Equal("cf:{user:42}", new CacheKeys("cf:").Entry("user:42"));

    [Fact]
    public void PrefixPatternsEscapeGlobCharacters() =>
        Assert.Equal(@"cf\*:{a\*b\?\[c\]\\d*", new CacheKeys("cf*:").EntryPattern(@"a*b?[c]\d"));
}
