using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;

namespace CacheFlow.Api.Tests.Contract;

/// <summary>
/// A JSON Schema <c>pattern</c> read as JSON Schema reads it (ECMA-262): <c>$</c> is the end of the text. .NET's
/// <c>$</c> also matches before a final <c>\n</c>, which would make <c>"ada\n"</c> a valid username to a .NET
/// validator and not to the document.
/// </summary>
public static class SchemaPattern
{
    private static readonly ConcurrentDictionary<string, Regex> Compiled = new();

    /// <summary>Whether <paramref name="text"/> matches <paramref name="pattern"/> (searched, not anchored, as JSON Schema does).</summary>
    public static bool IsMatch(string pattern, string text) => Compiled.GetOrAdd(pattern, p => new Regex(ToDotNet(p), RegexOptions.CultureInvariant)).IsMatch(text);

    /// <summary>The pattern with every <c>$</c> outside a character class made <c>\z</c>.</summary>
    internal static string ToDotNet(string pattern)
    {
        var result = new StringBuilder(pattern.Length + 4);
        var inClass = false;
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                result.Append(c).Append(pattern[++i]);
                continue;
            }

            if (c == '[')
                inClass = true;
            else if (c == ']')
                inClass = false;
            result.Append(c == '$' && !inClass ? @"\z" : c.ToString());
        }

        return result.ToString();
    }
}
