using System.Text;
using System.Text.RegularExpressions;

namespace CacheFlow.Api.Tests.Contract;

/// <summary>The curl commands of the README's "The API" section, read as a shell would split them.</summary>
public static partial class ReadmeExamples
{
    public static IReadOnlyList<CurlExample> Load()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));
        var section = readme[readme.IndexOf("## The API", StringComparison.Ordinal)..];
        var block = section[(section.IndexOf("```sh", StringComparison.Ordinal) + 5)..];
        block = block[..block.IndexOf("```", StringComparison.Ordinal)];
        var commands = block.Replace("\\\n", " ", StringComparison.Ordinal).Split('\n')
            .Select(l => l.Trim()).Where(l => l.StartsWith("curl ", StringComparison.Ordinal));
        return [.. commands.Select(Parse)];
    }

    private static CurlExample Parse(string line)
    {
        var words = Split(line);
        string? method = null, path = null, body = null;
        var headers = new List<(string, string)>();
        for (var i = 1; i < words.Count; i++)
        {
            switch (words[i])
            {
                case "-i":
                    break;
                case "-X":
                    method = words[++i];
                    break;
                case "-H":
                    var header = words[++i].Split(':', 2);
                    headers.Add((header[0].Trim(), header[1].Trim()));
                    break;
                case "-d":
                    body = words[++i];
                    break;
                default:
                    path = Host().Replace(words[i], "");
                    break;
            }
        }

        return new CurlExample(line, method ?? (body is null ? "GET" : "POST"), path ?? throw new FormatException(line), headers, body);
    }

    /// <summary>Splits a command line into words: quotes group, a <c>#</c> between words starts a comment.</summary>
    private static List<string> Split(string line)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (c is '\'' or '"')
            {
                var end = line.IndexOf(c, i + 1);
                word.Append(line, i + 1, end - i - 1);
                (i, inWord) = (end, true);
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord)
                    words.Add(word.ToString());
                (word, inWord) = (new StringBuilder(), false);
            }
            else if (c == '#' && !inWord)
            {
                break;
            }
            else
            {
                (word, inWord) = (word.Append(c), true);
            }
        }

        if (inWord)
            words.Add(word.ToString());
        return words;
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "CacheFlow.slnx")))
                return directory.FullName;
        }

        throw new InvalidOperationException("The repository root (CacheFlow.slnx) is not above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex("^(https?://)?localhost:5000")]
    private static partial Regex Host();
}
