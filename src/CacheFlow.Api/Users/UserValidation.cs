using System.Text.RegularExpressions;

namespace CacheFlow.Api.Users;

/// <summary>The field rules of a user, shared by create and update. Errors are keyed by the JSON field name.</summary>
internal static partial class UserValidation
{
    public const int MaxEmailLength = 254;

    public static Dictionary<string, string[]> Validate(string? username, string? email, bool required)
    {
        var errors = new Dictionary<string, string[]>();
        if (username is null ? required : !UsernamePattern().IsMatch(username))
            errors["username"] = ["A username is 3 to 32 letters, digits, '.', '_' or '-'."];
        if (email is null ? required : email.Length > MaxEmailLength || !EmailPattern().IsMatch(email))
            errors["email"] = [$"An email address is required, of the form name@domain.tld and at most {MaxEmailLength} characters."];
        return errors;
    }

    public static string NormalizeEmail(string email) => email.Trim().ToLowerInvariant();

    [GeneratedRegex("^[A-Za-z0-9._-]{3,32}$")]
    private static partial Regex UsernamePattern();

    [GeneratedRegex(@"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    private static partial Regex EmailPattern();
}
