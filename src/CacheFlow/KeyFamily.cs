namespace CacheFlow;

/// <summary>
/// The family of a key: its leading name segments (letters, <c>_</c>, <c>-</c>, <c>.</c>), at most
/// <see cref="MaxSegments"/> of them, up to the first one that holds an identifier. <c>user:42</c> is in family
/// <c>user</c>, <c>users:list:page=1:limit=20</c> in <c>users:list</c>, <c>a:b:c:1</c> in <c>a:b</c>. Metrics and
/// logs name families, never whole keys, which can hold personal data.
/// </summary>
/// <remarks>
/// Syntax cannot tell a name from a value made of letters: <c>user-by-name:alice</c> has family
/// <c>user-by-name:alice</c>. The depth bounds the shape of a family, not their number; the cache's counters bound the
/// number with <see cref="CacheFlowOptions.MaxKeyFamilies"/> (further families are counted as <see cref="Other"/>),
/// and <see cref="CacheFlowOptions.KeyFamilies"/> declares the exact families instead.
/// </remarks>
public static class KeyFamily
{
    /// <summary>The family of keys with no leading name segment, and of keys beyond the cap on families.</summary>
    public const string Other = "other";

    /// <summary>How many leading name segments a family has at most.</summary>
    public const int MaxSegments = 2;

    /// <summary>Returns the family part of <paramref name="key"/> (a slice of it), or <see cref="Other"/>.</summary>
    /// <param name="key">A cache key such as <c>user:42</c>.</param>
    public static ReadOnlySpan<char> Of(ReadOnlySpan<char> key)
    {
        var end = 0;
        var start = 0;
        for (var segments = 0; segments < MaxSegments && start < key.Length; segments++)
        {
            var length = key[start..].IndexOf(':');
            var segment = length < 0 ? key[start..] : key[start..(start + length)];
            if (segment.IsEmpty || !IsName(segment))
                break;
            end = start + segment.Length;
            if (length < 0)
                break;
            start += length + 1;
        }

        return end == 0 ? Other : key[..end];
    }

    private static bool IsName(ReadOnlySpan<char> segment)
    {
        foreach (var c in segment)
        {
            if (!char.IsAsciiLetter(c) && c is not '_' and not '-' and not '.')
                return false;
        }

        return true;
    }
}
