using System.Text;
using CacheFlow.Api.Users;

namespace CacheFlow.Api.Tests;

/// <summary>The field rules alone: the cases QA found, and what normalization does.</summary>
public sealed class UserValidationTests
{
    [Theory]
    [InlineData("qa_nl\n")]
    [InlineData("qa_nl\r")]
    [InlineData("abcdefghijklmnopqrstuvwxyz012345\n")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456")]
    [InlineData("ab")]
    [InlineData("a\0b")]
    [InlineData("ann\u200B")]
    [InlineData("\u202Eann")]
    [InlineData("j\u00F6rg")]
    public void AUsernameOutsideTheRuleIsRefused(string username) =>
        Assert.Contains("username", UserValidation.Validate(username, "a@b.co", required: true).Keys);

    [Theory]
    [InlineData("abc")]
    [InlineData("Ann.Lee_2-x")]
    [InlineData("abcdefghijklmnopqrstuvwxyz012345")]
    public void AUsernameWithinTheRuleIsAccepted(string username) => Assert.Empty(UserValidation.Validate(username, "a@b.co", required: true));

    [Theory]
    [InlineData("ann@example.com\n")]
    [InlineData("ann\0@example.com")]
    [InlineData("ann\u200B@example.com")]
    [InlineData("ann\u200D@example.com")]
    [InlineData("\uFEFFann@example.com")]
    [InlineData("ann@exa\u202Eelpm.com")]
    [InlineData("ann@example\u2066.com")]
    [InlineData("ann @example.com")]
    [InlineData("ann@example")]
    [InlineData("ann@example.")]
    [InlineData("a@b@example.com")]
    [InlineData("ann\uE000@example.com")]
    [InlineData("ann\u0378@example.com")]
    public void AnEmailWithAnInvisibleOrMisplacedCharacterIsRefused(string email) =>
        Assert.Contains("email", UserValidation.Validate("ann", email, required: true).Keys);

    [Fact]
    public void AnEmailWithALoneSurrogateOrANoncharacterIsRefused()
    {
        // Built here: xunit would turn a lone surrogate in InlineData into U+FFFD.
        foreach (var email in new[] { "ann" + '\uD800' + "@example.com", "ann" + '\uDC00' + "@example.com", "ann\uFFFE@example.com" })
            Assert.Contains("email", UserValidation.Validate("ann", email, required: true).Keys);
    }

    [Fact]
    public void AnEmailIsStoredLowerCasedAndComposed()
    {
        Assert.True(UserValidation.Normalizes, "the tests run where the API does: with ICU (InvariantGlobalization false)");
        Assert.Equal("caf\u00E9@\u00E5.com", UserValidation.NormalizeEmail("CAFE\u0301@\u212B.com"));
        Assert.Empty(UserValidation.Validate("ann", "CAFE\u0301@\u212B.com", required: true));
    }

    [Fact]
    public void AnEmailsLengthIsCountedInCodePointsAsStoredNotInUtf16Units()
    {
        var domain = "@x.io";
        var astral = string.Concat(Enumerable.Repeat("\U0001F600", 254 - domain.Length));
        var decomposed = string.Concat(Enumerable.Repeat("e\u0301", 254 - domain.Length));

        Assert.Empty(UserValidation.Validate("ann", astral + domain, required: true));
        Assert.Contains("email", UserValidation.Validate("ann", "\U0001F600" + astral + domain, required: true).Keys);
        // 249 characters as typed (e + accent is two), 249 as stored.
        Assert.Empty(UserValidation.Validate("ann", decomposed + domain, required: true));
        Assert.Equal(254, UserValidation.NormalizeEmail(decomposed + domain).EnumerateRunes().Count());
    }

    [Fact]
    public void ThePropertyTextHasBothAcceptedAndRefusedCases()
    {
        var text = new NastyText(Seed);
        var results = Enumerable.Range(0, 300).Select(i => UserValidation.Validate(text.Username($"p{i:D3}"), text.Email($"m{i:D3}"), required: true)).ToList();
        Assert.InRange(results.Count(r => r.Count == 0), 45, 255);
        Assert.InRange(results.Count(r => r.ContainsKey("username")), 45, 255);
        Assert.InRange(results.Count(r => r.ContainsKey("email")), 45, 255);
    }

    internal const int Seed = 20261126;

    internal static string Show(string text) =>
        string.Concat(text.Select(c => c is >= ' ' and < '\u007F' ? c.ToString() : $"\\u{(int)c:X4}"));

    internal static bool IsNfc(string text) => text.IsNormalized(NormalizationForm.FormC);
}
