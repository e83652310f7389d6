using System.Globalization;
using CacheFlow.Api.Http;

namespace CacheFlow.Api.Users;

/// <summary>
/// User ids in paths are canonical positive integers: digits only, no sign, no leading zero, no space, at most
/// <see cref="long.MaxValue"/>. Each id has one spelling, so <c>/users/01</c> and <c>/users/+1</c> are not
/// <c>/users/1</c> (and are not cached as it): they are a 400, like <c>/users/abc</c>.
/// </summary>
internal static class UserIds
{
    /// <summary>What an id must be, as error messages say it.</summary>
    public const string Expected = "a positive integer written in plain digits (no sign, leading zeros or spaces)";

    /// <summary>The pattern the OpenAPI document gives ids.</summary>
    public const string Pattern = "^[1-9][0-9]{0,18}$";

    /// <summary>Whether <paramref name="text"/> is an id's canonical spelling.</summary>
    public static bool IsCanonical(string? text) =>
        text is { Length: > 0 and <= 19 } && text[0] is >= '1' and <= '9' && text.All(char.IsAsciiDigit)
        && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out _);

    /// <summary>The 400 for an id that is not canonical.</summary>
    public static IResult Invalid(string text) => TypedResults.Problem(
        $"id must be {Expected}; \"{ErrorText.Truncate(text)}\" is not.", statusCode: StatusCodes.Status400BadRequest, title: "Invalid id");
}
