using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace CacheFlow.Api.Tests.Contract;

/// <summary>The OpenAPI document against the server: what it promises is what the server does, and the other way round.</summary>
public sealed class ContractTests(EmbeddedStack stack) : IClassFixture<EmbeddedStack>
{
    /// <summary>Bad inputs of every kind, each on the operations it applies to.</summary>
    public static readonly TheoryData<string, string, string?, string?> BadInputs = new()
    {
        { "GET", "/users/abc", null, null },
        { "GET", "/users/-1", null, null },
        { "GET", "/users/0", null, null },
        { "GET", "/users/+1", null, null },
        { "GET", "/users/01", null, null },
        { "GET", "/users/%201", null, null },
        { "GET", "/users/99999999999999999999", null, null },
        { "GET", "/users/99999999", null, null },
        { "GET", "/users?page=0", null, null },
        { "GET", "/users?page=abc", null, null },
        { "GET", "/users?limit=101", null, null },
        { "GET", "/users?limit=" + new string('9', 4000), null, null },
        { "GET", "/users?page=999999&limit=20", null, null },
        { "POST", "/users", "{\"username\":", "application/json" },
        { "POST", "/users", "[]", "application/json" },
        { "POST", "/users", "null", "application/json" },
        { "POST", "/users", "{\"username\":5,\"email\":\"a@b.co\"}", "application/json" },
        { "POST", "/users", "{\"username\":\"valid_name\",\"email\":\"a@b.co\",\"is_active\":\"yes\"}", "application/json" },
        { "POST", "/users", "", "application/json" },
        { "POST", "/users", "{}", "application/json" },
        { "POST", "/users", "{\"username\":\"ab\",\"email\":\"ab@example.com\"}", "application/json" },
        { "POST", "/users", "{\"username\":\"valid_name\",\"email\":\"not-an-email\"}", "application/json" },
        { "POST", "/users", "{\"username\":\"valid_name\",\"email\":\"a@b.co\"}", "text/plain" },
        { "POST", "/users", "{\"username\":\"valid_name\",\"email\":\"a@b.co\"}", "application/json; charset=bogus" },
        { "POST", "/users", "{\"username\":\"valid_name\",\"email\":\"a@b.co\"}", "application/json; charset=utf-7" },
        { "POST", "/users", "{\"username\":\"user00001\",\"email\":\"fresh@example.com\"}", "application/json" },
        { "PATCH", "/users/1", "{}", "application/json" },
        { "PATCH", "/users/01", "{\"is_active\":false}", "application/json" },
        { "PATCH", "/users/1", "{\"email\":\"nope\"}", "application/json" },
        { "PATCH", "/users/1", "{\"is_active\":false}", "application/json; charset=bogus" },
        { "PATCH", "/users/99999999", "{\"is_active\":false}", "application/json" },
        { "DELETE", "/users/99999999", null, null },
        { "DELETE", "/users/x", null, null },
        { "POST", "/users/async", "{\"username\":", "application/json" },
        { "POST", "/users/async", "{}", "application/json" },
        { "POST", "/users/async", "{\"username\":\"valid_name\",\"email\":\"a@b.co\"}", "application/json; charset=utf-7" },
        { "POST", "/users/async", "{\"username\":\"user00001\",\"email\":\"fresh@example.com\"}", "application/json" },
        { "GET", "/users/async/no-such-request", null, null },
        { "GET", "/users/async/" + new string('r', 4000), null, null },
        { "POST", "/users/abc/logins", null, null },
        { "POST", "/users/+3/logins", null, null },
        { "POST", "/users/99999999/logins", null, null },
        { "GET", "/users/top?limit=0", null, null },
        { "GET", "/users/top?limit=x", null, null },
        { "GET", "/cache/dead-letters", null, null },
        { "GET", "/cache/dead-letters?limit=0", null, "admin" },
        { "POST", "/cache/warm", null, null },
        { "POST", "/cache/stats/reset", null, null },
        { "DELETE", "/cache/keys/user:1", null, null },
    };

    private HttpClient Client => stack.Api.CreateClient();

    [Fact]
    public async Task TheReadmeExamplesAreValidRequestsAndGetDocumentedSuccesses()
    {
        var checker = await CheckerAsync();
        var failures = new List<string>();
        string? requestId = null;
        var examples = ReadmeExamples.Load();
        Assert.True(examples.Count >= 10, $"only {examples.Count} curl examples found in the README");
        foreach (var example in examples)
        {
            var path = example.Path.Replace("<request_id>", requestId, StringComparison.Ordinal);
            using var request = new HttpRequestMessage(new HttpMethod(example.Method), path);
            foreach (var (name, value) in example.Headers.Where(h => h.Name != "Content-Type"))
                request.Headers.Add(name, value.Replace("$KEY", ApiFactory.AdminKey, StringComparison.Ordinal));
            if (example.Body is not null)
            {
                request.Content = new StringContent(example.Body, Encoding.UTF8, "application/json");
                failures.AddRange(checker.CheckRequestBody(example.Method, path.Split('?')[0], example.Body));
            }

            var response = await Client.SendAsync(request, TestContext.Current.CancellationToken);
            var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            if (!response.IsSuccessStatusCode)
                failures.Add($"{example.Line}: {(int)response.StatusCode} {body}");
            if (path.StartsWith("/health/", StringComparison.Ordinal))
                continue; // the probes are for orchestrators, not in the API document
            failures.AddRange(checker.CheckResponse(example.Method, path.Split('?')[0], response, body));
            if (response.StatusCode == HttpStatusCode.Accepted)
                requestId = (string)JsonNode.Parse(body)!["request_id"]!;
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task ABadInputGetsADocumentedProblem(string method, string path, string? body, string? contentType)
    {
        var checker = await CheckerAsync();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (contentType == "admin")
            request.Headers.Add("X-Api-Key", ApiFactory.AdminKey);
        else if (body is not null)
            request.Content = Content(body, contentType!);

        var response = await Client.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        await response.ProblemAsync(response.StatusCode);
        Assert.InRange((int)response.StatusCode, 400, 499);
        Assert.True(text.Length < 600, $"a long answer, echoing the input? {text}");
        var failures = checker.CheckResponse(method, Uri.UnescapeDataString(path.Split('?')[0]), response, text);
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Theory]
    [InlineData("POST", "/users", "bogus")]
    [InlineData("POST", "/users", "utf-7")]
    [InlineData("POST", "/users", "utf-16")]
    [InlineData("PATCH", "/users/1", "bogus")]
    [InlineData("PATCH", "/users/1", "utf-7")]
    [InlineData("POST", "/users/async", "bogus")]
    [InlineData("POST", "/users/async", "\"utf-7\"")]
    public async Task ABodyInAnotherCharsetThanUtf8Is415InOurWords(string method, string path, string charset)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = Content("{\"is_active\":true}", $"application/json; charset={charset}"),
        };

        var problem = await (await Client.SendAsync(request, TestContext.Current.CancellationToken)).ProblemAsync(HttpStatusCode.UnsupportedMediaType);

        Assert.Equal($"Bodies are JSON in UTF-8; the charset \"{charset.Trim('"')}\" is not supported.", (string)problem["detail"]!);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("application/json; charset=UTF-8")]
    [InlineData("application/json; charset=utf8")]
    [InlineData("application/json; charset=UTF8")]
    [InlineData("application/json; charset=\"utf-8\"")]
    [InlineData("application/json; charset=\"UTF-8\"")]
    [InlineData("application/json;charset=Utf-8")]
    public async Task ABodyInUtf8IsAcceptedWhateverTheSpellingOfItsCharset(string contentType)
    {
        var client = Client;
        var name = $"cs{Guid.NewGuid():N}"[..20];
        var created = await client.PostAsync("/users", Content($"{{\"username\":\"{name}\",\"email\":\"{name}@example.com\"}}", contentType), TestContext.Current.CancellationToken);
        var changed = await client.PatchAsync("/users/3", Content("{\"is_active\":true}", contentType), TestContext.Current.CancellationToken);
        var queued = await client.PostAsync("/users/async", Content($"{{\"username\":\"q{name}\",\"email\":\"q{name}@example.com\"}}", contentType), TestContext.Current.CancellationToken);

        Assert.Equal((HttpStatusCode.Created, HttpStatusCode.OK, HttpStatusCode.Accepted), (created.StatusCode, changed.StatusCode, queued.StatusCode));
    }

    [Theory]
    [InlineData("POST", "/users", "")]
    [InlineData("PATCH", "/users/1", "\"\"")]
    [InlineData("POST", "/users/async", "")]
    public async Task AnEmptyCharsetIs415(string method, string path, string charset)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = Content("{\"is_active\":true}", $"application/json; charset={charset}") };

        var problem = await (await Client.SendAsync(request, TestContext.Current.CancellationToken)).ProblemAsync(HttpStatusCode.UnsupportedMediaType);

        Assert.Equal("Bodies are JSON in UTF-8; the charset is empty: send charset=utf-8 or none.", (string)problem["detail"]!);
    }

    [Theory]
    [InlineData("POST", "/users", """{"username":"bad name!","username":"ok_name","email":"ok@example.com"}""", "Duplicate field", "username")]
    [InlineData("PATCH", "/users/1", """{"is_active":false,"is_active":true}""", "Duplicate field", "is_active")]
    [InlineData("POST", "/users/async", """{"username":"ok_name","email":"a@example.com","email":"b@example.com"}""", "Duplicate field", "email")]
    [InlineData("POST", "/users", """{"username":"ok_name","email":"ok@example.com","is_active":null}""", "Null field", "is_active")]
    [InlineData("PATCH", "/users/1", """{"is_active":null}""", "Null field", "is_active")]
    [InlineData("POST", "/users/async", """{"username":"ok_name","email":"ok@example.com","is_active":null}""", "Null field", "is_active")]
    [InlineData("PATCH", "/users/1", """{"nickname":"x"}""", "Unknown field", "nickname")]
    [InlineData("POST", "/users", """{"username":"ok_name","email":"ok@example.com","Is_Active":false}""", "Unknown field", "Is_Active")]
    public async Task ABodyFieldGivenTwiceNullOrUnknownIsA400NamingIt(string method, string path, string body, string title, string field)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = Content(body, "application/json") };

        var problem = await (await Client.SendAsync(request, TestContext.Current.CancellationToken)).ProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal((title, field), ((string)problem["title"]!, (string)problem["field"]!));
        Assert.StartsWith(field + " ", (string)problem["detail"]!, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("+1")]
    [InlineData("01")]
    [InlineData("%201")]
    [InlineData("1%20")]
    [InlineData("0x1")]
    [InlineData("1e3")]
    [InlineData("1.0")]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("9223372036854775808")]
    public async Task AnIdIsACanonicalPositiveInteger(string id)
    {
        var client = Client;
        foreach (var (method, path) in new[] { ("GET", $"/users/{id}"), ("DELETE", $"/users/{id}"), ("POST", $"/users/{id}/logins") })
        {
            var problem = await (await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path), TestContext.Current.CancellationToken))
                .ProblemAsync(HttpStatusCode.BadRequest);
            Assert.StartsWith("id must be a positive integer written in plain digits (no sign, leading zeros or spaces);", (string)problem["detail"]!);
        }
    }

    [Fact]
    public async Task ABindingErrorSaysWhatIsExpectedWithoutTypesOrALongEcho()
    {
        var client = Client;
        var longPage = await (await client.GetAsync("/users?page=" + new string('x', 8000), TestContext.Current.CancellationToken)).ProblemAsync(HttpStatusCode.BadRequest);
        var noBody = await (await client.PostAsync("/users", Content("", "application/json"), TestContext.Current.CancellationToken)).ProblemAsync(HttpStatusCode.BadRequest);
        var wrongType = await (await client.PostAsync("/users", Content("{\"username\":\"valid_name\",\"email\":\"a@b.co\",\"is_active\":\"yes\"}", "application/json"),
            TestContext.Current.CancellationToken)).ProblemAsync(HttpStatusCode.BadRequest);
        var plainText = await (await client.PostAsync("/users", Content("{}", "text/plain"), TestContext.Current.CancellationToken)).ProblemAsync(HttpStatusCode.UnsupportedMediaType);

        Assert.Equal($"page must be an integer; \"{new string('x', 64)}…\" is not.", (string)longPage["detail"]!);
        Assert.Equal("A JSON object body is required.", (string)noBody["detail"]!);
        Assert.StartsWith("The body is not valid JSON for this operation (at $.is_active)", (string)wrongType["detail"]!);
        Assert.Equal("The body must be JSON: send Content-Type: application/json (charset UTF-8).", (string)plainText["detail"]!);
        foreach (var problem in new[] { longPage, noBody, wrongType, plainText })
        {
            var json = problem.ToJsonString();
            foreach (var leak in new[] { "Failed to bind", "CreateUserRequest", "Service instead", "System.", "int page", "Nullable" })
                Assert.DoesNotContain(leak, json, StringComparison.Ordinal);
            Assert.True(json.Length < 600, json);
        }
    }

    [Fact]
    public async Task AMethodAPathDoesNotAnswerIsA405InOurWords()
    {
        var response = await Client.PutAsync("/users/1", Content("{}", "application/json"), TestContext.Current.CancellationToken);

        var problem = await response.ProblemAsync(HttpStatusCode.MethodNotAllowed);
        Assert.Equal("This path does not answer PUT.", (string)problem["detail"]!);
    }

    [Fact]
    public async Task AnAdminCallWithoutTheKeyIsChallenged()
    {
        var response = await Client.PostAsync("/cache/warm", null, TestContext.Current.CancellationToken);

        await response.ProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Equal("ApiKey header=\"X-Api-Key\"", response.Headers.WwwAuthenticate.ToString());
    }

    [Theory]
    [InlineData("/users/1")]
    [InlineData("/users?page=1&limit=5")]
    [InlineData("/users/top")]
    [InlineData("/cache/stats")]
    [InlineData("/openapi/v1.json")]
    [InlineData("/health/live")]
    public async Task HeadIsAnsweredWhereverGetIs(string path)
    {
        var client = Client;
        var get = await client.GetAsync(path, TestContext.Current.CancellationToken);
        var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, path), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(get.Content.Headers.ContentType?.MediaType, head.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
        if (path.StartsWith("/users/1", StringComparison.Ordinal))
            Assert.Equal("HIT", head.XCache());
    }

    [Fact]
    public async Task HeadOnAnUnknownIdIsANotFound()
    {
        var head = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/users/99999999"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
    }

    private Task<OpenApiChecker> CheckerAsync() => OpenApiChecker.LoadAsync(Client);

    private static ByteArrayContent Content(string body, string contentType)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return content;
    }
}
