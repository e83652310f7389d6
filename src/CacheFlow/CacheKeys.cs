using System.Text;

namespace CacheFlow;

/// <summary>
/// Builds Redis keys. An entry <c>user:42</c> lives at <c>{prefix}{user:42}</c>: the braces are a Redis Cluster
/// hash tag, so keys derived from it later (a lease, say) land in the same slot and one script can touch both.
/// Its lease lives at <c>{prefix}{user:42}:lease</c>; a tag's index at <c>{prefix}tag:{name}</c>.
/// </summary>
internal sealed class CacheKeys(string prefix)
{
    public string Entry(string key) => string.Concat(prefix, "{", key, "}");

    /// <summary>The lease of an entry: same hash tag, so one script can check the lease and write the entry.</summary>
    public static string Lease(string entryKey) => entryKey + ":lease";

    /// <summary>Whether a key from a SCAN is an entry (not a lease).</summary>
    public static bool IsEntry(string redisKey) => redisKey.EndsWith('}');

    public string Tag(string tag) => string.Concat(prefix, "tag:{", tag, "}");

    /// <summary>A SCAN pattern for the entries whose keys start with <paramref name="keyPrefix"/>, matched literally.</summary>
    public string EntryPattern(string keyPrefix)
    {
        var pattern = new StringBuilder(prefix.Length + keyPrefix.Length + 8);
        AppendEscaped(pattern, prefix).Append('{');
        return AppendEscaped(pattern, keyPrefix).Append('*').ToString();
    }

    private static StringBuilder AppendEscaped(StringBuilder pattern, string literal)
    {
        foreach (var c in literal)
        {
            if (c is '*' or '?' or '[' or ']' or '\\')
                pattern.Append('\\');
            pattern.Append(c);
        }

        return pattern;
    }
}
