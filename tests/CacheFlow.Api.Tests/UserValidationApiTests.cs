using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CacheFlow.Api.Http;
using CacheFlow.Api.Users;
using CacheFlow.Api.WriteBehind;
using CacheFlow.WriteBehind;
using Microsoft.Extensions.DependencyInjection;

namespace CacheFlow.Api.Tests;

/// <summary>
/// The field rules through HTTP on both storage pairs: random nasty input never gives a 5xx, and what is created reads
/// back as normalized; a poisoned write-behind batch fails the poison alone with a public error.
/// </summary>
public abstract class UserValidationApiTests(IApiStack stack)
{
    [Fact]
    public async Task RandomNastyInputNeverGivesAServerErrorAndWhatIsCreatedIsStoredAsNormalized()
    {
        var client = stack.Api.CreateClient();
        var text = new NastyText(UserValidationTests.Seed + 1);
        var run = Guid.NewGuid().ToString("N")[..4];
        var statuses = new Dictionary<HttpStatusCode, int>();
        for (var i = 0; i < 150; i++)
        {
            // Some share a prefix so that clashes (409) come up too.
            var username = text.Username(i % 10 == 0 ? "dup" : $"{run}{i:D3}");
            var email = text.Email(i % 10 == 0 ? "dup" : $"{run}{i:D3}");
            var context = $"case {i}: {UserValidationTests.Show(username)} / {UserValidationTests.Show(email)}";
            var path = i % 3 == 2 ? "/users/async" : "/users";

            var response = await client.PostAsync(path, JsonBody(username, email), TestContext.Current.CancellationToken);
            var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            statuses[response.StatusCode] = statuses.GetValueOrDefault(response.StatusCode) + 1;

            Assert.True((int)response.StatusCode < 500, $"{context} gave {(int)response.StatusCode}: {body}");
            var valid = UserValidation.Validate(username, email, required: true).Count == 0;
            if (response.StatusCode is HttpStatusCode.Created)
            {
                var user = JsonNode.Parse(body)!;
                Assert.True(valid, context);
                Assert.True((username, UserValidation.NormalizeEmail(email)) == ((string)user["username"]!, (string)user["email"]!), context);
            }
            else if (response.StatusCode is HttpStatusCode.BadRequest)
            {
                Assert.False(valid, $"{context} is valid but gave 400: {body}");
            }
        }

        Assert.True(statuses.GetValueOrDefault(HttpStatusCode.Created) + statuses.GetValueOrDefault(HttpStatusCode.Accepted) >= 20,
            string.Join(", ", statuses.Select(s => $"{(int)s.Key}: {s.Value}")));
    }

    [Fact]
    public async Task APoisonedWriteFailsAloneWithAPublicErrorAndItsBatchMatesAreApplied()
    {
        var api = stack.Api;
        var client = api.CreateClient();
        var queue = api.Services.GetRequiredService<WriteBehindQueue>();
        var run = Guid.NewGuid().ToString("N")[..8];
        // Straight into the queue, past the endpoint's validation: as a write queued by an older version would be.
        CreateUserRequest[] writes =
        [
            new($"ok1{run}", $"ok1{run}@example.com", true),
            new($"ok2{run}", $"ok2{run}@example.com", true),
            new("abcdefghijklmnopqrstuv" + run + "\n", $"long{run}@example.com", true),
            new($"nul{run}", $"n\0l{run}@example.com", true),
            new($"ok3{run}", $"ok3{run}@example.com", true),
        ];
        var ids = new List<string>();
        foreach (var write in writes)
            ids.Add((await queue.EnqueueAsync(WriteBehindFlusher.CreateUser, JsonSerializer.SerializeToElement(write, ApiJsonContext.Default.CreateUserRequest))).Id);

        var settled = new List<JsonNode>();
        foreach (var id in ids)
            settled.Add(await WaitForSettledAsync(client, $"/users/async/{id}"));

        Assert.Equal(["done", "done", "failed", "failed", "done"], settled.Select(s => (string)s["status"]!));
        foreach (var poison in settled.Where(s => (string)s["status"]! == "failed"))
        {
            Assert.Equal("invalid_value", (string)poison["error_code"]!);
            Assert.Equal(1, (int)poison["attempts"]!);
            Assert.StartsWith("The ", (string)poison["error"]!, StringComparison.Ordinal);
        }

        var deadLetters = await (await api.CreateAdminClient().GetAsync("/cache/dead-letters?limit=1000", TestContext.Current.CancellationToken)).JsonAsync();
        var dead = deadLetters.AsArray().Where(d => ids.Contains((string)d!["id"]!)).ToList();
        Assert.Equal([ids[3], ids[2]], dead.Select(d => (string)d!["id"]!));
        Assert.All(dead, d => Assert.Equal("invalid_value", (string)d!["error_code"]!));
        foreach (var shown in settled.Select(s => s.ToJsonString()).Concat(dead.Select(d => d!.ToJsonString())))
            Assert.DoesNotMatch("2200|too long|SQLite|constraint|invalid byte|Exception", shown);
    }

    /// <summary>The body as JSON with every character outside printable ASCII escaped, so a lone surrogate travels as sent.</summary>
    private static StringContent JsonBody(string username, string email) =>
        new($"{{\"username\":{Escape(username)},\"email\":{Escape(email)}}}", Encoding.UTF8, "application/json");

    private static string Escape(string text)
    {
        var json = new StringBuilder("\"");
        foreach (var c in text)
            json.Append(c is >= ' ' and < '\u007F' and not '"' and not '\\' ? c.ToString() : $"\\u{((int)c).ToString("X4", CultureInfo.InvariantCulture)}");
        return json.Append('"').ToString();
    }

    private static async Task<JsonNode> WaitForSettledAsync(HttpClient client, string statusUrl)
    {
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            var status = await (await client.GetAsync(statusUrl, TestContext.Current.CancellationToken)).JsonAsync();
            if ((string)status["status"]! is "done" or "failed")
                return status;
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        throw new Xunit.Sdk.XunitException($"{statusUrl} never settled");
    }
}

public sealed class EmbeddedUserValidationApiTests(EmbeddedStack stack) : UserValidationApiTests(stack), IClassFixture<EmbeddedStack>;

public sealed class ServerUserValidationApiTests(ServerStack stack) : UserValidationApiTests(stack), IClassFixture<ServerStack>;
