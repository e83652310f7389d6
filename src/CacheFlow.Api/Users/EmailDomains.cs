using System.Globalization;

namespace CacheFlow.Api.Users;

/// <summary>
/// The domain of an email address in one canonical form, so that one mailbox is one user: mapped and checked as an
/// internationalized domain name (UTS 46, nontransitional, with the STD3 rules: labels of letters, digits and
/// hyphens), then written in Unicode. <c>xn--bcher-kva.de</c>, <c>BÜCHER.de</c> and <c>bücher.de</c> are all
/// <c>bücher.de</c>; fullwidth <c>ｅｘａｍｐｌｅ.com</c> is <c>example.com</c>. A label that mixes scripts (a Cyrillic
/// <c>а</c> in <c>exаmple</c>) is refused (<see cref="ScriptMixing"/>), as browsers refuse to show one in Unicode.
/// </summary>
internal static class EmailDomains
{
    private static readonly IdnMapping Idna = new() { UseStd3AsciiRules = true, AllowUnassigned = false };

    /// <summary>The canonical form of <paramref name="domain"/>, or false if it is no valid domain or a label mixes scripts.</summary>
    public static bool TryCanonicalize(string domain, out string canonical)
    {
        canonical = domain;
        try
        {
            canonical = Idna.GetUnicode(Idna.GetAscii(domain));
        }
        catch (ArgumentException)
        {
            // Not a valid IDN: a character no label may hold, an empty or over-long label, a hyphen first or last.
            return false;
        }

        return !canonical.Split('.').Any(ScriptMixing.IsMixed);
    }
}
