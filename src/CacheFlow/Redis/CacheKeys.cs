using System.Text;

namespace CacheFlow.Redis;

/// <summary>
/// Builds Redis keys. An entry <c>user:42</c> lives at <c>{prefix}{user:42}</c>: the braces are a Redis Cluster
/// hash tag, so keys derived from it (its lease <c>{prefix}{user:42}:lease</c>, its revocation marker
/// <c>{prefix}{user:42}:revoked</c>) land in the same slot and one script can touch them all. A tag's index lives at
/// <c>{prefix}tag:{name}</c>, its version at <c>{prefix}tag:{name}:version</c> and its removal set at
/// <c>{prefix}tag:{name}:removing</c>. Durable data lives under
/// <see cref="CacheFlowOptions.DurableKeyPrefix"/> (<c>{prefix}durable:</c>), which no entry key or pattern can match:
/// every entry key starts with <c>{prefix}{</c>.
/// </summary>
internal sealed class CacheKeys(string prefix)
{
    private const string LeaseSuffix = ":lease";
    private const string RevokedSuffix = ":revoked";

    public string Entry(string key) => string.Concat(prefix, "{", key, "}");

    /// <summary>The start of every entry key under a key prefix: <c>{prefix}{user:</c> for <c>user:</c>, <c>{prefix}{</c> for all.</summary>
    public string EntryPrefix(string keyPrefix) => string.Concat(prefix, "{", keyPrefix);

    /// <summary>The key prefix an entry-key prefix (<c>{prefix}{user:</c>) was made from (<c>user:</c>).</summary>
    public string PrefixOf(string entryPrefix) => entryPrefix[(prefix.Length + 1)..];

    /// <summary>The key an entry key (<c>{prefix}{user:42}</c>) was made from (<c>user:42</c>), or null if it is not an entry key of this prefix.</summary>
    public string? KeyOf(string entryKey) =>
        IsEntryPrefix(entryKey) && entryKey.Length > prefix.Length + 1 && entryKey[^1] == '}' ? entryKey[(prefix.Length + 1)..^1] : null;

    /// <summary>Whether a text starts as every entry key of this prefix does (<c>{prefix}{</c>).</summary>
    public bool IsEntryPrefix(string text) =>
        text.Length > prefix.Length && text[prefix.Length] == '{' && text.StartsWith(prefix, StringComparison.Ordinal);

    /// <summary>The lease of an entry: same hash tag, so one script can check the lease and write the entry.</summary>
    public static string Lease(string entryKey) => entryKey + LeaseSuffix;

    /// <summary>The marker an invalidation leaves for the revocation window: a write-through may not land while it is there.</summary>
    public static string Revoked(string entryKey) => entryKey + RevokedSuffix;

    /// <summary>The entry a key found by SCAN belongs to (itself, or the entry of a lease or marker).</summary>
    public static string EntryOf(string redisKey) =>
        redisKey.EndsWith(LeaseSuffix, StringComparison.Ordinal) ? redisKey[..^LeaseSuffix.Length]
        : redisKey.EndsWith(RevokedSuffix, StringComparison.Ordinal) ? redisKey[..^RevokedSuffix.Length]
        : redisKey;

    /// <summary>Whether a key found by SCAN is a revocation marker (left alone by a removal: it expires by itself).</summary>
    public static bool IsMarker(string redisKey) => redisKey.EndsWith(RevokedSuffix, StringComparison.Ordinal);

    public string Tag(string tag) => string.Concat(prefix, "tag:{", tag, "}");

    /// <summary>A tag's version (<see cref="EntryTags"/>): same hash tag as its index, so one script can touch both.</summary>
    public static string TagVersion(string tagKey) => tagKey + ":version";

    /// <summary>Where a tag's members wait while their entries are being deleted.</summary>
    public static string Removing(string tagKey) => tagKey + ":removing";

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
