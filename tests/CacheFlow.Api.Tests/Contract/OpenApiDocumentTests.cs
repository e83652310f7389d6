using System.Text.Json.Nodes;

namespace CacheFlow.Api.Tests.Contract;

/// <summary>The OpenAPI document itself: what a validating client and the linter need.</summary>
public sealed class OpenApiDocumentTests(EmbeddedStack stack) : IClassFixture<EmbeddedStack>
{
    private static readonly string[] Methods = ["get", "put", "post", "patch", "delete", "head"];

    [Fact]
    public async Task TheDocumentIsWrittenOutForTheLinter()
    {
        // CI lints this file with Redocly (.ci/run); locally it goes to the temp folder.
        var text = await stack.Api.CreateClient().GetStringAsync("/openapi/v1.json", TestContext.Current.CancellationToken);
        var path = Environment.GetEnvironmentVariable("CACHEFLOW_OPENAPI_OUT") ?? Path.Combine(Path.GetTempPath(), "cacheflow-openapi.json");
        await File.WriteAllTextAsync(path, text, TestContext.Current.CancellationToken);
        Assert.NotNull(JsonNode.Parse(text)!["paths"]);
    }

    [Fact]
    public async Task TheServerIsRelativeWhateverTheHostHeaderSays()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/openapi/v1.json");
        request.Headers.Host = "evil.example";
        var document = await (await stack.Api.CreateClient().SendAsync(request, TestContext.Current.CancellationToken)).JsonAsync();

        Assert.Equal("""[{"url":"/","description":"The server this document is served from."}]""", document["servers"]!.ToJsonString());
        Assert.DoesNotContain("evil.example", document.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryOperationHasAUniqueIdA4xxAndProblemErrors()
    {
        var operations = Operations(await DocumentAsync()).ToList();

        var ids = operations.Select(o => (string?)o.Operation["operationId"]).ToList();
        Assert.All(ids, id => Assert.False(string.IsNullOrEmpty(id)));
        Assert.Equal(ids.Count, ids.Distinct().Count());
        // Clients generate method names from these: a renamed handler must not rename an operation unnoticed.
        string[] published =
        [
            "getUser", "listUsers", "createUser", "updateUser", "deleteUser", "createUserBehind", "getWriteStatus", "recordLogin", "topUsers",
            "getStats", "resetStats", "warm", "removeKey", "removeTag", "removePrefix", "deadLetters", "requeue", "startDemoLoad", "stopDemoLoad",
        ];
        Assert.Empty(published.Except(ids));
        foreach (var (name, operation) in operations)
        {
            var responses = operation["responses"]!.AsObject();
            Assert.True(responses.Any(r => r.Key.StartsWith('4')), $"{name} documents no 4xx");
            foreach (var (status, response) in responses.Where(r => r.Key[0] is '4' or '5'))
                Assert.Equal("#/components/schemas/ProblemDetails", (string?)response!["content"]?["application/problem+json"]?["schema"]?["$ref"]);
        }
    }

    [Fact]
    public async Task NoUrlMatchesTwoPaths()
    {
        // Redocly's no-ambiguous-paths compares shapes only (.ci/redocly.yaml); this also asks the parameters' schemas.
        var document = (await DocumentAsync()).AsObject();
        Assert.Empty(AmbiguousPaths(document));

        // A control: without the schemas, the pair the linter flags is ambiguous.
        foreach (var parameter in document["paths"]!.AsObject().SelectMany(p => p.Value!.AsObject()).Where(o => Methods.Contains(o.Key))
            .SelectMany(o => o.Value!["parameters"]?.AsArray() ?? []).Where(p => (string)p!["in"]! == "path"))
            parameter!["schema"] = new JsonObject { ["type"] = "string" };
        Assert.Contains("/users/async/{requestId} and /users/{id}/logins", AmbiguousPaths(document));
    }

    [Fact]
    public async Task AdminOperationsNeedTheApiKeyAndTheRestAreAnonymous()
    {
        var document = await DocumentAsync();

        var scheme = document["components"]!["securitySchemes"]!["ApiKey"]!;
        Assert.Equal(("apiKey", "header", "X-Api-Key"), ((string)scheme["type"]!, (string)scheme["in"]!, (string)scheme["name"]!));
        Assert.Equal("[{}]", document["security"]!.ToJsonString());
        foreach (var (name, operation) in Operations(document))
        {
            var admin = name.StartsWith("POST /cache/", StringComparison.Ordinal) || name.StartsWith("DELETE /cache/", StringComparison.Ordinal)
                || name == "GET /cache/dead-letters";
            Assert.True(admin == (operation["security"]?.ToJsonString() == """[{"ApiKey":[]}]"""), $"{name}: security {operation["security"]?.ToJsonString()}");
            Assert.Equal(admin, operation["responses"]!["401"] is not null);
        }
    }

    [Fact]
    public async Task RequestBodiesCarryTheRealRules()
    {
        var schemas = (await DocumentAsync())["components"]!["schemas"]!;
        var create = schemas["CreateUserRequest"]!;
        var update = schemas["UpdateUserRequest"]!;

        Assert.Equal("""["username","email"]""", create["required"]!.ToJsonString());
        Assert.Null(update["required"]);
        // A change is any of the three fields, at least one: {"nickname":"x"} has one property and none of them.
        Assert.Equal("""[{"required":["username"]},{"required":["email"]},{"required":["is_active"]}]""", update["anyOf"]!.ToJsonString());
        foreach (var schema in new[] { create, update })
        {
            Assert.False((bool)schema["additionalProperties"]!);
            var username = schema["properties"]!["username"]!;
            Assert.Equal(("string", 3, 32, "^[A-Za-z0-9._-]{3,32}$"),
                ((string)username["type"]!, (int)username["minLength"]!, (int)username["maxLength"]!, (string)username["pattern"]!));
            Assert.Equal(254, (int)schema["properties"]!["email"]!["maxLength"]!);
            Assert.Equal("boolean", (string)schema["properties"]!["is_active"]!["type"]!);
        }
    }

    [Fact]
    public async Task QueryParametersCarryTheirRanges()
    {
        var paths = (await DocumentAsync())["paths"]!;

        var list = paths["/users"]!["get"]!["parameters"]!.AsArray();
        var page = list.Single(p => (string)p!["name"]! == "page")!["schema"]!;
        var limit = list.Single(p => (string)p!["name"]! == "limit")!["schema"]!;
        var id = paths["/users/{id}"]!["get"]!["parameters"]![0]!["schema"]!;

        Assert.Equal(("integer", 1, int.MaxValue), ((string)page["type"]!, (int)page["minimum"]!, (int)page["maximum"]!));
        Assert.Equal(("integer", 1, 100), ((string)limit["type"]!, (int)limit["minimum"]!, (int)limit["maximum"]!));
        Assert.Equal(("integer", 1, long.MaxValue), ((string)id["type"]!, (int)id["minimum"]!, (long)id["maximum"]!));
    }

    [Fact]
    public async Task CachedReadsAndCreatesDocumentTheirHeaders()
    {
        var paths = (await DocumentAsync())["paths"]!;

        Assert.NotNull(paths["/users/{id}"]!["get"]!["responses"]!["200"]!["headers"]!["X-Cache"]);
        Assert.NotNull(paths["/users/{id}"]!["get"]!["responses"]!["200"]!["headers"]!["X-Cache-Level"]);
        Assert.NotNull(paths["/users"]!["get"]!["responses"]!["200"]!["headers"]!["X-Cache"]);
        Assert.NotNull(paths["/users"]!["post"]!["responses"]!["201"]!["headers"]!["Location"]);
        Assert.NotNull(paths["/users/async"]!["post"]!["responses"]!["202"]!["headers"]!["Location"]);
        Assert.NotNull(paths["/users/{id}"]!["get"]!["responses"]!["503"]!["headers"]!["Retry-After"]);
    }

    [Fact]
    public async Task TheCheckerRejectsWhatTheDocumentDoesNotAllow()
    {
        // A control for the contract tests: the checker is not lenient.
        var checker = new OpenApiChecker((await DocumentAsync()).AsObject());

        Assert.Empty(checker.CheckRequestBody("POST", "/users", """{"username":"ada","email":"ada@example.com"}"""));
        Assert.Empty(checker.CheckRequestBody("PATCH", "/users/42", """{"is_active":false}"""));
        Assert.NotEmpty(checker.CheckRequestBody("POST", "/users", """{"username":"ada"}"""));
        Assert.NotEmpty(checker.CheckRequestBody("POST", "/users", """{"username":"a d","email":"ada@example.com"}"""));
        Assert.NotEmpty(checker.CheckRequestBody("PATCH", "/users/42", "{}"));
        Assert.NotEmpty(checker.CheckRequestBody("PATCH", "/users/42", """{"is_active":"no"}"""));
        Assert.NotEmpty(checker.CheckRequestBody("PATCH", "/users/42", """{"nickname":"x"}"""));
        Assert.NotEmpty(checker.CheckRequestBody("PATCH", "/users/42", """{"is_active":null}"""));
        Assert.NotEmpty(checker.CheckRequestBody("POST", "/users", """{"username":"ada","email":"ada@example.com","is_active":null}"""));
        Assert.NotEmpty(checker.CheckRequestBody("POST", "/users", """{"username":"ada","email":"ada@example.com","id":7}"""));
        Assert.NotEmpty(checker.CheckRequestBody("POST", "/users", """{"username":"ada","email":"ada\u0007@example.com"}"""));
        Assert.NotEmpty(checker.CheckRequestBody("POST", "/users", "{\"username\":\"ada\\n\",\"email\":\"ada@example.com\"}"));
        using var teapot = new HttpResponseMessage(System.Net.HttpStatusCode.UnprocessableEntity);
        Assert.NotEmpty(checker.CheckResponse("GET", "/users/1", teapot, ""));
        using var noCacheHeader = new HttpResponseMessage(System.Net.HttpStatusCode.OK);
        Assert.NotEmpty(checker.CheckResponse("GET", "/users/1", noCacheHeader, ""));
        using var wrongBody = new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new StringContent("{}", null, "application/json") };
        wrongBody.Headers.Add("X-Cache", "HIT");
        Assert.NotEmpty(checker.CheckResponse("GET", "/users/1", wrongBody, "{\"id\":\"1\"}"));
    }

    /// <summary>The pairs of paths one URL could match: no segment tells them apart (two different literals, or a literal the other's parameter refuses).</summary>
    private static List<string> AmbiguousPaths(JsonObject document)
    {
        var checker = new OpenApiChecker(document);
        var paths = document["paths"]!.AsObject().Select(p => (Template: p.Key, Segments: p.Key.Split('/'), Item: p.Value!)).ToList();
        bool Apart(string a, string b, JsonNode itemOfB) =>
            !a.StartsWith('{') && (b.StartsWith('{') ? checker.Validate(PathValue(a), ParameterSchema(itemOfB, b.Trim('{', '}')), b).Count > 0 : a != b);
        return
        [
            .. from p in paths
               from q in paths
               where string.CompareOrdinal(p.Template, q.Template) < 0 && p.Segments.Length == q.Segments.Length
               where !p.Segments.Zip(q.Segments).Any(s => Apart(s.First, s.Second, q.Item) || Apart(s.Second, s.First, p.Item))
               select $"{p.Template} and {q.Template}",
        ];
    }

    /// <summary>A path segment as the parameter's value: a number where it reads as one, otherwise text.</summary>
    private static JsonNode PathValue(string segment) =>
        long.TryParse(segment, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number)
            ? JsonValue.Create(number) : JsonValue.Create(segment);

    /// <summary>The schema of a path parameter, from any operation of the path that declares it.</summary>
    private static JsonNode ParameterSchema(JsonNode pathItem, string name) =>
        pathItem.AsObject().Where(o => Methods.Contains(o.Key))
            .SelectMany(o => o.Value!["parameters"]?.AsArray() ?? [])
            .First(p => (string)p!["name"]! == name && (string)p["in"]! == "path")!["schema"]!;

    private async Task<JsonNode> DocumentAsync() =>
        await (await stack.Api.CreateClient().GetAsync("/openapi/v1.json", TestContext.Current.CancellationToken)).JsonAsync();

    private static IEnumerable<(string Name, JsonObject Operation)> Operations(JsonNode document) =>
        from path in document["paths"]!.AsObject()
        from operation in path.Value!.AsObject()
        where Methods.Contains(operation.Key)
        select ($"{operation.Key.ToUpperInvariant()} {path.Key}", operation.Value!.AsObject());
}
