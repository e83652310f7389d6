using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using CacheFlow.Api.Users;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;

namespace CacheFlow.Api.Tests.Contract.Generated;

/// <summary>
/// Controls for <see cref="DocumentCaseTests"/>: with one rule loosened, on the document's side or the server's, the
/// generated cases find the disagreement and name the case.
/// </summary>
public sealed class DocumentCaseControlTests(EmbeddedStack stack) : IClassFixture<EmbeddedStack>
{
    [Fact]
    public async Task ADocumentThatAllowsMoreThanTheServerIsCaught()
    {
        var document = JsonNode.Parse(await stack.Api.CreateClient().GetStringAsync("/openapi/v1.json", TestContext.Current.CancellationToken))!;
        // Loosened: limit up to 1000 (the server stops at 100), usernames up to 40 characters (the server stops at 32).
        var limit = document["paths"]!["/users"]!["get"]!["parameters"]!.AsArray().Single(p => (string)p!["name"]! == "limit")!;
        limit["schema"]!["maximum"] = 1000;
        var username = document["components"]!["schemas"]!["CreateUserRequest"]!["properties"]!["username"]!;
        (username["maxLength"], username["pattern"]) = (40, "^[A-Za-z0-9._-]{3,40}$");

        var report = await DocumentCaseRun.RunAsync(stack.Api, document.ToJsonString());
        TestContext.Current.TestOutputHelper?.WriteLine(report.ToString());

        Assert.Contains(report.Failures, f => f.Case.Name == "listUsers query.limit=1000" && f.Failure.StartsWith("valid, refused with 400", StringComparison.Ordinal));
        Assert.Contains(report.Failures, f => f.Case.Valid && f.Case.Name.StartsWith("createUser body", StringComparison.Ordinal)
            && f.Failure.StartsWith("valid, refused with 400", StringComparison.Ordinal) && f.Failure.Contains("username", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AServerThatAcceptsMoreThanTheDocumentIsCaught()
    {
        await using var resources = new TestResources("cacheflow-contract-");
        // Loosened: the server ignores a field it does not know, as it did before this rule (the document says no other field).
        var api = resources.Track(new ApiFactory(resources.Data.FullName, services: services => services.PostConfigure<JsonOptions>(json =>
            json.SerializerOptions.TypeInfoResolver = json.SerializerOptions.TypeInfoResolver!.WithAddedModifier(type =>
            {
                if (type.Type == typeof(CreateUserRequest) || type.Type == typeof(UpdateUserRequest))
                    type.UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip;
            }))));

        var report = await DocumentCaseRun.RunAsync(api);
        TestContext.Current.TestOutputHelper?.WriteLine(report.ToString());

        Assert.Contains(report.Failures, f => f.Case.Name == "createUser body with an undeclared field nickname (forbidden)"
            && f.Failure.StartsWith("forbidden, answered 201", StringComparison.Ordinal));
        Assert.Contains(report.Failures, f => f.Case.Name == "updateUser body with an undeclared field nickname (forbidden)"
            && f.Failure.StartsWith("forbidden, answered 200", StringComparison.Ordinal));
    }
}
