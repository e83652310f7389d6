using System.Text;

namespace CacheFlow.Api.Tests.Contract.Generated;

/// <summary>What a run of generated cases found: each case's status, and the cases whose answer broke the document.</summary>
public sealed class DocumentCaseReport(IReadOnlyList<DocumentCase> cases)
{
    private readonly List<(DocumentCase Case, int Status, string? Failure)> _results = [];

    /// <summary>Every case generated.</summary>
    public IReadOnlyList<DocumentCase> Cases => cases;

    /// <summary>The cases whose answer broke the document, with what was wrong.</summary>
    public IEnumerable<(DocumentCase Case, string Failure)> Failures =>
        _results.Where(r => r.Failure is not null).Select(r => (r.Case, r.Failure!));

    /// <summary>How many answers had each status, valid and forbidden cases apart.</summary>
    public string Statuses(bool valid) =>
        string.Join(", ", _results.Where(r => r.Case.Valid == valid).GroupBy(r => r.Status).OrderBy(g => g.Key).Select(g => $"{g.Key}: {g.Count()}"));

    public void Add(DocumentCase generated, int status, string? failure) => _results.Add((generated, status, failure));

    /// <summary>A summary for the test output: counts by operation and status, then every failure.</summary>
    public override string ToString()
    {
        var text = new StringBuilder()
            .AppendLine($"{cases.Count} cases from the document: {cases.Count(c => c.Valid)} valid ({Statuses(true)}), {cases.Count(c => !c.Valid)} forbidden ({Statuses(false)})");
        foreach (var operation in cases.GroupBy(c => c.Name.Split(' ')[0]))
            text.AppendLine($"  {operation.Key}: {operation.Count(c => c.Valid)} valid, {operation.Count(c => !c.Valid)} forbidden");
        foreach (var (failed, failure) in Failures)
            text.AppendLine($"FAILED {failed.Method} {failed.Path} [{failed.Name}]: {failure}");
        return text.ToString();
    }
}
