namespace CacheFlow;

/// <summary>
/// The family of a key: its leading segments up to the first one that holds an identifier. <c>user:42</c> is in
/// family <c>user</c>, <c>users:list:page=1:limit=20</c> in <c>users:list</c>. Metrics and logs name families,
/// never whole keys, which can hold personal data.
/// </summary>
public static class KeyFamily
{
    /// <summary>The family of keys with no leading name segment.</summary>
    public const string Other = "other";

    /// <summary>Returns the family part of <paramref name="key"/> (a slice of it), or <see cref="Other"/>.</summary>
    /// <param name="key">A cache key such as <c>user:42</c>.</param>
    public static ReadOnlySpan<char> Of(ReadOnlySpan<char> key)
    {
        var end = 0;
        var start = 0;
        while (start < key.Length)
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
