using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using CacheFlow.Api.Data;
using CacheFlow.Api.Tests.Contract;
using CacheFlow.Api.WriteBehind;
using CacheFlow.WriteBehind;
using Microsoft.Extensions.DependencyInjection;

namespace CacheFlow.Api.Tests;

/// <summary>
/// Every request of <see cref="HostileRequests"/> on both storage pairs: its own status (never a 5xx), a problem+json
/// body in our words (no stack trace, no type name, at most 64 characters of the input echoed), and nothing written —
/// no user created or changed, no write-behind status, no login counted, no cache entry removed.
/// </summary>
public abstract class HostileRequestTests(IApiStack stack)
{
    private const int MaxEcho = 64;

    public static TheoryData<string> Names => new(HostileRequests.All.Select(r => r.Name));

    [Fact]
    public void TheTableHasAtLeastAHundredRowsEachNamedOnce()
    {
        Assert.True(HostileRequests.All.Count >= 100, $"{HostileRequests.All.Count} rows");
        Assert.Equal(HostileRequests.All.Count, HostileRequests.All.Select(r => r.Name).Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Names))]
    public async Task AHostileRequestGetsItsStatusAndAProblemAndWritesNothing(string name)
    {
        var row = HostileRequests.All.Single(r => r.Name == name);
        var api = stack.Api;
        var client = api.CreateClient();
        foreach (var given in HostileRequests.Given)
        {
            using var setUp = Request(given);
            var status = (await client.SendAsync(setUp, TestContext.Current.CancellationToken)).StatusCode;
            Assert.True(status is HttpStatusCode.Created or HttpStatusCode.Conflict, $"{given.Name}: {(int)status}");
        }

        await (await client.GetAsync("/users/1", TestContext.Current.CancellationToken)).JsonAsync();
        var before = await SnapshotAsync(api.Services);

        using var request = Request(row);
        var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.True((int)response.StatusCode == row.Expected, $"{name}: expected {row.Expected}, got {(int)response.StatusCode}: {Shorten(text)}");
        if (row.Expected >= 400)
            AssertProblem(row, response, text);
        // Where the path is an operation of the document, the answer is one the document lists for it.
        var checker = await OpenApiChecker.LoadAsync(client);
        if (checker.Find(row.Method, row.Path.Split('?')[0]) is not null)
            Assert.Empty(checker.CheckResponse(row.Method, row.Path.Split('?')[0], response, text));
        else if (row.Expected == 200)
            Assert.Equal(0, (long)JsonNode.Parse(text)!["count"]!);

        Assert.Equal(before, await SnapshotAsync(api.Services));
        if (row.Probe is { } probe)
            Assert.Null(await api.Services.GetRequiredService<IUserRepository>().FindClashAsync(probe, probe, TestContext.Current.CancellationToken));
        // Not even the cache lost anything: user 1, read before, is still a hit.
        Assert.Equal("HIT", (await client.GetAsync("/users/1", TestContext.Current.CancellationToken)).XCache());
    }

    private static void AssertProblem(HostileRequest row, HttpResponseMessage response, string text)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(text)!;
        Assert.Equal(row.Expected, (int)problem["status"]!);
        Assert.False(string.IsNullOrWhiteSpace((string?)problem["title"]), text);
        foreach (var leak in new[] { "   at ", "Exception", "System.", "Microsoft.", "Npgsql", "SQLite", "StackExchange", "Failed to bind" })
            Assert.DoesNotContain(leak, text, StringComparison.Ordinal);
        Assert.True(text.Length < 800, $"a long answer: {Shorten(text)}");
        if (Echo(row.Input, problem.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping })) is { } echo)
            Assert.Fail($"more than {MaxEcho} characters of the input echoed: {echo}");
        if (row.Expected == 401)
            Assert.Equal("ApiKey header=\"X-Api-Key\"", response.Headers.WwwAuthenticate.ToString());
    }

    /// <summary>A piece of the input longer than <see cref="MaxEcho"/> characters that the answer repeats, if any.</summary>
    private static string? Echo(string input, string answer)
    {
        for (var i = 0; i + MaxEcho + 1 <= input.Length; i++)
        {
            var piece = input.AsSpan(i, MaxEcho + 1);
            if (answer.AsSpan().IndexOf(piece, StringComparison.Ordinal) >= 0)
                return piece.ToString();
        }

        return null;
    }

    private static HttpRequestMessage Request(HostileRequest row)
    {
        var request = new HttpRequestMessage(new HttpMethod(row.Method), row.Path);
        if (row.Admin)
            request.Headers.Add("X-Api-Key", ApiFactory.AdminKey);
        foreach (var (header, value) in row.Headers)
            Assert.True(request.Headers.TryAddWithoutValidation(header, value), header);
        if (row.Body is not null)
        {
            request.Content = new ByteArrayContent(row.Body);
            if (row.ContentType is not null)
                Assert.True(request.Content.Headers.TryAddWithoutValidation("Content-Type", row.ContentType));
        }

        return request;
    }

    /// <summary>What a refused request must leave as it was: the users (count and the first three, read from the
    /// database), the write-behind writes accepted, and the login leaderboard.</summary>
    private static async Task<Snapshot> SnapshotAsync(IServiceProvider services)
    {
        var users = services.GetRequiredService<IUserRepository>();
        var firsts = new List<string>();
        for (var id = 1; id <= 3; id++)
            firsts.Add(JsonSerializer.Serialize(await users.GetAsync(id, TestContext.Current.CancellationToken)));
        var board = await services.GetRequiredService<LoginCounter>().TopAsync(100);
        return new Snapshot(
            await users.CountAsync(TestContext.Current.CancellationToken), string.Join('\n', firsts),
            services.GetRequiredService<WriteBehindQueue>().Statistics.Enqueued, string.Join(',', board.Select(b => $"{b.Id}={b.Count}")));
    }

    private static string Shorten(string text) => text.Length <= 400 ? text : text[..400] + "…";

    private sealed record Snapshot(long Users, string FirstUsers, long Enqueued, string Logins);
}

public sealed class EmbeddedHostileRequestTests(EmbeddedStack stack) : HostileRequestTests(stack), IClassFixture<EmbeddedStack>;

public sealed class ServerHostileRequestTests(ServerStack stack) : HostileRequestTests(stack), IClassFixture<ServerStack>;
