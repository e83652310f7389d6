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
    public void AnEmailsLengthIsCountedInCodePointsAsSentAndAsStoredNotInUtf16Units()
    {
        var domain = "@x.io";
        var astral = string.Concat(Enumerable.Repeat("\U0001F600", 254 - domain.Length));
        var decomposed = string.Concat(Enumerable.Repeat("e\u0301", (254 - domain.Length) / 2));

        Assert.Empty(UserValidation.Validate("ann", astral + domain, required: true));
        Assert.Contains("email", UserValidation.Validate("ann", "\U0001F600" + astral + domain, required: true).Keys);
        // 253 code points as sent (e + accent is two), 129 as stored: within the limit both ways.
        Assert.Empty(UserValidation.Validate("ann", decomposed + domain, required: true));
        // 255 as sent, 254 as stored: JSON Schema's maxLength counts as sent, and so does the server.
        var composingTo254 = "e\u0301" + new string('h', 255 - 2 - domain.Length) + domain;
        Assert.Equal(254, UserValidation.NormalizeEmail(composingTo254).EnumerateRunes().Count());
        Assert.Contains("email", UserValidation.Validate("ann", composingTo254, required: true).Keys);
    }

    [Theory]
    [InlineData("idn@b\u00FCcher.de", "idn@b\u00FCcher.de")]
    [InlineData("idn@xn--bcher-kva.de", "idn@b\u00FCcher.de")]
    [InlineData("IDN@B\u00DCCHER.DE", "idn@b\u00FCcher.de")]
    [InlineData("idn@bu\u0308cher.de", "idn@b\u00FCcher.de")]
    [InlineData("ann@\uFF45\uFF58\uFF41\uFF4D\uFF50\uFF4C\uFF45.com", "ann@example.com")]
    [InlineData("ann@xn--r8jz45g.xn--zckzah", "ann@\u4F8B\u3048.\u30C6\u30B9\u30C8")]
    [InlineData("ann@stra\u00DFe.de", "ann@stra\u00DFe.de")]
    public void AnEmailsDomainIsStoredInOneCanonicalForm(string email, string stored)
    {
        Assert.Empty(UserValidation.Validate("ann", email, required: true));
        Assert.Equal(stored, UserValidation.NormalizeEmail(email));
    }

    [Theory]
    [InlineData("ann@ex\u0430mple.com")]
    [InlineData("ann@g\u03BFogle.com")]
    [InlineData("ann@\u0440\u0430ypal.com")]
    [InlineData("ann@abc1\u0663.com")]
    [InlineData("ann@xn--exmple-4nf.com")]
    [InlineData("ann@-example.com")]
    [InlineData("ann@example-.com")]
    [InlineData("ann@ex_ample.com")]
    [InlineData("ann@exam\u00ADple.com")]
    [InlineData("ann@exam\u200Bple.com")]
    public void ADomainThatIsNoValidIdnOrMixesScriptsInALabelIsRefused(string email) =>
        Assert.Contains("email", UserValidation.Validate("ann", email, required: true).Keys);

    [Theory]
    [InlineData("ann@\u0440\u0444.\u0440\u0444")]
    [InlineData("ann@b\u00FCcher.\u0440\u0444")]
    [InlineData("ann@\u4F8B\u3048.\u30C6\u30B9\u30C8")]
    [InlineData("ann@\u4E2D\u6587abc.com")]
    [InlineData("ann@\uD55C\uAD6D\uC5B4.kr")]
    [InlineData("ann@\u03B5\u03BB.gr")]
    [InlineData("ann@abc-123.com")]
    public void ALabelInOneScriptOrInABrowsersAllowedMixPasses(string email) =>
        Assert.Empty(UserValidation.Validate("ann", email, required: true));

    [Fact]
    public void OnlyTheScriptCheckRefusesALookAlikeDomain()
    {
        // A control: exаmple.com (Cyrillic а) is a valid IDN, which mapping alone would store as a mailbox of its own.
        Assert.True(ScriptMixing.Available, "the tests run where the API does: with ICU's spoof checker");
        var idna = new System.Globalization.IdnMapping { UseStd3AsciiRules = true };
        Assert.Equal("ex\u0430mple.com", idna.GetUnicode(idna.GetAscii("ex\u0430mple.com")));
        Assert.True(ScriptMixing.IsMixed("ex\u0430mple"));
        Assert.False(ScriptMixing.IsMixed("example"));
        Assert.False(ScriptMixing.IsMixed("b\u00FCcher"));
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
