namespace CacheFlow.Api.Tests.Contract.Generated;

/// <summary>
/// The cases generated from <c>/openapi/v1.json</c> (<see cref="DocumentCaseGenerator"/>) on both storage pairs: every
/// request the document allows is accepted and every request it forbids is refused with a problem, each answer as the
/// document describes it.
/// </summary>
public abstract class DocumentCaseTests(IApiStack stack)
{
    [Fact]
    public async Task EveryRequestTheDocumentAllowsIsAcceptedAndEveryRequestItForbidsIsRefused()
    {
        var report = await DocumentCaseRun.RunAsync(stack.Api);
        TestContext.Current.TestOutputHelper?.WriteLine(report.ToString());

        Assert.True(!report.Failures.Any(), report.ToString());
        // Not a vacuous run: every operation but the skipped ones, both kinds of case, and creates that succeeded.
        Assert.True(report.Cases.Count(c => c.Valid) >= 50 && report.Cases.Count(c => !c.Valid) >= 200, report.ToString());
        Assert.Contains("201: ", report.Statuses(valid: true), StringComparison.Ordinal);
    }
}

public sealed class EmbeddedDocumentCaseTests(EmbeddedStack stack) : DocumentCaseTests(stack), IClassFixture<EmbeddedStack>;

public sealed class ServerDocumentCaseTests(ServerStack stack) : DocumentCaseTests(stack), IClassFixture<ServerStack>;
