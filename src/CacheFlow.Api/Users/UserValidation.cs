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

    /// <summary>The shape of an email address as a pattern, for the OpenAPI document (validation checks more: see <see cref="EmailRule"/>).</summary>
    public const string EmailPattern = @"^[^@\s]+@[^@\s]+\.[^@\s]+$";

    public const string UsernameRule = "A username is 3 to 32 letters (A-Z, a-z), digits, '.', '_' or '-'.";

    /// <summary>
    /// Whether this process can normalize: not in .NET's invariant globalization mode (where <c>Normalize</c> leaves
    /// text as it is). Without it, only ASCII emails pass, which are NFC as they are.
    /// </summary>
    public static readonly bool Normalizes = "e\u0301".Normalize(NormalizationForm.FormC) == "\u00e9";

    public const string EmailRule = "An email address is required, of the form name@domain.tld and at most 254 characters, without spaces or control, format or unassigned characters.";

    public static Dictionary<string, string[]> Validate(string? username, string? email, bool required)
    {
        var errors = new Dictionary<string, string[]>();
        if (username is null ? required : !IsValidUsername(username))
            errors["username"] = [UsernameRule];
        if (email is null ? required : !IsValidEmail(NormalizeEmail(email)))
            errors["email"] = [EmailRule];
        return errors;
    }

    /// <summary>
    /// The email as stored: lower-cased (emails are unique whatever their case), then NFC, so that look-alikes made of
    /// a letter and a combining mark meet the precomposed letter at the unique index. Text that cannot be normalized
    /// (a lone surrogate, a noncharacter) comes back lower-cased only, and <see cref="Validate"/> refuses it.
    /// </summary>
    public static string NormalizeEmail(string email) => TryNormalize(email.ToLowerInvariant(), out var normalized) ? normalized : email.ToLowerInvariant();

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

    /// <summary>name@domain.tld: one '@', a '.' in the domain with text either side, and every character visible.</summary>
    private static bool IsValidEmail(string email)
    {
        if (!TryNormalize(email, out var normalized) || normalized != email || CodePoints(email) > MaxEmailLength || (!Normalizes && !Ascii.IsValid(email)))
            return false;
        var at = email.IndexOf('@', StringComparison.Ordinal);
        var dot = email.LastIndexOf('.');
        if (at < 1 || email.IndexOf('@', at + 1) >= 0 || dot <= at + 1 || dot == email.Length - 1)
            return false;
        foreach (var rune in email.EnumerateRunes())
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
