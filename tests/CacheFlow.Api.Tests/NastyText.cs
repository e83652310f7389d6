using System.Text;

namespace CacheFlow.Api.Tests;

/// <summary>
/// Random text for property tests, seeded for reproducibility: plain ASCII mixed with the classes that have broken
/// validation before — newlines, NUL, zero-width and bidi characters, combining marks, astral-plane characters, lone
/// surrogates, unassigned and private-use code points — and lengths around the schema's limits.
/// </summary>
internal sealed class NastyText(int seed)
{
    private static readonly string[] Plain = ["a", "b", "Z", "q", "0", "7", ".", "_", "-"];

    private static readonly string[] Nasty =
    [
        "\n", "\r", "\r\n", "\0", "\t", " ", "\u00A0", "\u2028", "\u0085", "\u007F",
        "\u200B", "\u200C", "\u200D", "\uFEFF", "\u00AD", "\u202E", "\u202D", "\u2066", "\u2069", "\u061C", "\u200F",
        "\u0301", "e\u0301", "\u00E9", "\u212B", "A\u030A", "\u0130", "\u00DF", "\u03A9", "\u044F", "\u6F22",
        "\U0001F600", "\U0001D518", "\U00020000", "\uD800", "\uDC00", "\uE000", "\u0378", "\uFFFE", "@", "@@", "..",
    ];

    private static readonly string[] Long = ["a", "\u00E9", "e\u0301", "\U0001F600", "\u6F22"];

    private readonly Random _random = new(seed);

    /// <summary>A username candidate: mostly the allowed characters, sometimes a nasty one, 0 to 33 pieces after the prefix.</summary>
    public string Username(string prefix)
    {
        var text = new StringBuilder(prefix);
        var length = _random.Next(0, 34);
        for (var i = 0; i < length; i++)
            text.Append(_random.Next(20) == 0 ? Pick(Nasty) : Pick(Plain));
        return text.ToString();
    }

    /// <summary>An email candidate: local@domain.tld from pieces, sometimes near or past 254 code points.</summary>
    public string Email(string prefix)
    {
        var local = new StringBuilder(prefix).Append(Part(6));
        var domain = $"{Part(5)}.{Part(3)}";
        if (_random.Next(5) == 0)
        {
            // Around the limit: filled with one piece, which may be astral (two UTF-16 units) or decomposed.
            var fill = Pick(Long);
            var target = 254 - domain.Length - 1 - local.Length + _random.Next(-3, 4);
            for (var i = 0; i < target / fill.EnumerateRunes().Count(); i++)
                local.Append(fill);
        }

        return _random.Next(25) == 0 ? Part(8) : $"{local}@{domain}";
    }

    private string Part(int maxPieces)
    {
        var text = new StringBuilder();
        var length = _random.Next(1, maxPieces + 1);
        for (var i = 0; i < length; i++)
            text.Append(_random.Next(15) == 0 ? Pick(Nasty) : Pick(Plain[..4]));
        return text.ToString();
    }

    private string Pick(string[] pieces) => pieces[_random.Next(pieces.Length)];
}
