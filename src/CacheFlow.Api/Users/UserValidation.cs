using System.Globalization;
using System.Text;

namespace CacheFlow.Api.Users;

/// <summary>
/// The field rules of a user, shared by create, update and the write-behind flush. Errors are keyed by the JSON field
/// name. What passes is what both databases store unchanged: a username is ASCII (so already NFC, one character per
/// code point); an email is checked as it will be stored (<see cref="NormalizeEmail"/>: lower-cased, NFC) and its
/// length counted in code points, as PostgreSQL's <c>varchar(n)</c> counts (SQLite does not enforce a length).
/// </summary>
internal static class UserValidation
{
    public const int MinUsernameLength = 3;

    public const int MaxUsernameLength = 32;

    public const int MaxEmailLength = 254;

    /// <summary>The username rule as a pattern, for the OpenAPI document (validation itself checks each character).</summary>
    public const string UsernamePattern = "^[A-Za-z0-9._-]{3,32}$";

    /// <summary>
    /// An email address as a pattern, for the OpenAPI document: name@domain.tld without whitespace, control, format,
    /// private-use or noncharacter code points of the Basic Multilingual Plane, and a domain of dot-separated labels
    /// without ASCII punctuation. Validation checks more (<see cref="EmailRuleInFull"/>); every string this refuses,
    /// validation refuses too. Written in <c>\u</c> escapes, which JSON Schema (ECMA-262), .NET and Python read alike.
    /// </summary>
    public const string EmailPattern = "^[^@" + Invisible + "]+@" + DomainLabel + "(?:\\." + DomainLabel + ")+$";

    /// <summary>The characters <see cref="IsVisible"/> refuses that a pattern can list (the BMP's; unassigned ones aside).</summary>
    private const string Invisible = "\\u0000-\\u0020\\u007F-\\u00A0\\u00AD\\u0600-\\u0605\\u061C\\u06DD\\u070F\\u0890\\u0891\\u08E2\\u1680\\u180E"
        + "\\u2000-\\u200F\\u2028-\\u202F\\u205F-\\u2064\\u2066-\\u206F\\u3000\\uE000-\\uF8FF\\uFDD0-\\uFDEF\\uFEFF\\uFFF0-\\uFFFB\\uFFFE\\uFFFF";

    /// <summary>A domain label: no dot, no ASCII punctuation but '-', nothing invisible.</summary>
    private const string DomainLabel = "[^.@!-,/:-?\\[-`{-~" + Invisible + "]+";

    public const string UsernameRule = "A username is 3 to 32 letters (A-Z, a-z), digits, '.', '_' or '-'.";

    /// <summary>
    /// Whether this process can normalize: not in .NET's invariant globalization mode (where <c>Normalize</c> leaves
    /// text as it is). Without it, only ASCII emails pass, which are NFC as they are.
    /// </summary>
    public static readonly bool Normalizes = "e\u0301".Normalize(NormalizationForm.FormC) == "\u00e9";

    public const string EmailRule = "An email address is required, of the form name@domain.tld and at most 254 characters, without spaces or control, format or unassigned "
        + "characters; its domain a valid internationalized domain name whose labels each keep to one script.";

    /// <summary>The whole rule, in words, for the OpenAPI document beside the looser <see cref="EmailPattern"/>.</summary>
    public const string EmailRuleInFull = "name@domain.tld, at most 254 code points as sent and as stored; unique as stored. Stored lower-cased and in NFC, "
        + "its domain in Unicode as UTS 46 maps it (xn--bcher-kva.de and BÜCHER.de are bücher.de; fullwidth letters are ASCII ones), so one mailbox is one user. "
        + "Beyond the pattern, the server refuses: whitespace, control, format, private-use, unassigned and noncharacter code points anywhere (astral ones too), "
        + "text that is no valid Unicode; a domain that is not a valid internationalized domain name (UTS 46 nontransitional with the STD3 rules: labels of "
        + "letters, digits and hyphens, no hyphen first or last, none empty or over 63); and a domain label that mixes scripts: one script per label (digits "
        + "and '-' go with any), or Latin with Han, Hiragana and Katakana, with Han and Bopomofo, or with Han and Hangul (UTS 39 highly restrictive, the "
        + "rule Chromium applies before it shows a domain in Unicode), no invisible characters, digits of one system.";

    public static Dictionary<string, string[]> Validate(string? username, string? email, bool required)
    {
        var errors = new Dictionary<string, string[]>();
        if (username is null ? required : !IsValidUsername(username))
            errors["username"] = [UsernameRule];
        if (email is null ? required : !IsValidEmail(email))
            errors["email"] = [EmailRule];
        return errors;
    }

    /// <summary>
    /// The email as stored: lower-cased (emails are unique whatever their case), then NFC, so that look-alikes made of
    /// a letter and a combining mark meet the precomposed letter at the unique index, and its domain in canonical form
    /// (<see cref="EmailDomains"/>), so that one mailbox is one user. Text that cannot be normalized (a lone surrogate,
    /// a noncharacter, a domain that is no valid IDN) comes back lower-cased only, and <see cref="Validate"/> refuses it.
    /// </summary>
    public static string NormalizeEmail(string email) => TryStore(email, out var stored) ? stored : email.ToLowerInvariant();

    private static bool TryStore(string email, out string stored)
    {
        stored = email.ToLowerInvariant();
        if (!TryNormalize(stored, out var composed))
            return false;
        var at = composed.IndexOf('@', StringComparison.Ordinal);
        if (at < 0 || !EmailDomains.TryCanonicalize(composed[(at + 1)..], out var domain))
            return false;
        stored = string.Concat(composed.AsSpan(0, at + 1), domain);
        return true;
    }

    private static bool TryNormalize(string text, out string normalized)
    {
        normalized = text;
        if (HasLoneSurrogate(text))
            return false;
        try
        {
            normalized = text.Normalize(NormalizationForm.FormC);
            return true;
        }
        catch (ArgumentException)
        {
            // ICU refuses noncharacters such as U+FFFE.
            return false;
        }
    }

    /// <summary>
    /// A plain loop, not a regex: a regex's <c>$</c> also matches before a final <c>\n</c>. Case is kept as given;
    /// uniqueness ignores it (the <c>lower(username)</c> index).
    /// </summary>
    private static bool IsValidUsername(string username) =>
        username.Length is >= MinUsernameLength and <= MaxUsernameLength && username.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    /// <summary>
    /// name@domain.tld as sent: one '@', a '.' in the domain with text either side, at most <see cref="MaxEmailLength"/>
    /// code points (as JSON Schema's maxLength counts), every character visible; and as stored: a valid domain, every
    /// character visible, and again at most that long (NFC can lengthen text, and PostgreSQL's <c>varchar(254)</c> counts the stored form).
    /// </summary>
    private static bool IsValidEmail(string email)
    {
        var at = email.IndexOf('@', StringComparison.Ordinal);
        var dot = email.LastIndexOf('.');
        if (at < 1 || email.IndexOf('@', at + 1) >= 0 || dot <= at + 1 || dot == email.Length - 1 || HasLoneSurrogate(email) || CodePoints(email) > MaxEmailLength)
            return false;
        if (!TryStore(email, out var stored) || !TryNormalize(stored, out var normalized) || normalized != stored || CodePoints(stored) > MaxEmailLength
            || (!Normalizes && !Ascii.IsValid(stored)))
        {
            return false;
        }

        // As sent too: mapping a domain drops some invisible characters (a soft hyphen, a zero-width space) unseen.
        return AllVisible(email) && AllVisible(stored);
    }

    private static bool AllVisible(string text)
    {
        foreach (var rune in text.EnumerateRunes())
        {
            if (Rune.IsWhiteSpace(rune) || !IsVisible(Rune.GetUnicodeCategory(rune)))
                return false;
        }

        return true;
    }

    /// <summary>
    /// Not control (Cc: NUL, \n, \r), format (Cf: zero-width characters, the bidi controls such as right-to-left
    /// override), surrogate, private-use or unassigned; not a line or paragraph separator.
    /// </summary>
    private static bool IsVisible(UnicodeCategory category) => category is not (
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
        or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
        or UnicodeCategory.SpaceSeparator);

    private static int CodePoints(string text) => text.EnumerateRunes().Count();

    private static bool HasLoneSurrogate(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                i++;
            else if (char.IsSurrogate(text[i]))
                return true;
        }

        return false;
    }
}
