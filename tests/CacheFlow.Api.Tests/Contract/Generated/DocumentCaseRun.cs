using System.Text;

namespace CacheFlow.Api.Tests.Contract.Generated;

/// <summary>
/// Sends the cases generated from a document to an API and judges each answer: a valid case must not be refused
/// (400, 405, 413, 415, 422; nor 401 or 429, which it has the key and the room for) nor fail (5xx); a forbidden case
/// must be refused with a 4xx problem other than 401, 409 (a clash means it was taken as valid) or 429; and either
/// answer must be one the document describes for the operation (status, headers, body schema).
/// </summary>
public static class DocumentCaseRun
{
    /// <summary>Operations left out, each with the reason.</summary>
    public static readonly IReadOnlyDictionary<string, string> Skipped = new Dictionary<string, string>
    {
        ["startDemoLoad"] = "it starts a load of the API on itself that would outlive the case; DashboardTests drives it",
    };

    /// <summary>Generates the cases from <paramref name="document"/> (by default, the one the API serves) and sends them.</summary>
    public static async Task<DocumentCaseReport> RunAsync(ApiFactory api, string? document = null)
    {
        var client = api.CreateClient();
        document ??= await client.GetStringAsync("/openapi/v1.json", TestContext.Current.CancellationToken);
        var checker = new OpenApiChecker(System.Text.Json.Nodes.JsonNode.Parse(document)!.AsObject());
        var salt = "g" + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray())[..2];
        var cases = new DocumentCaseGenerator(document, ApiFactory.AdminKey, salt).Generate(Skipped.Keys.ToHashSet()).ToList();
        var report = new DocumentCaseReport(cases);
        foreach (var generated in cases)
        {
            using var request = new HttpRequestMessage(new HttpMethod(generated.Method), generated.Path);
            foreach (var (name, value) in generated.Headers)
                request.Headers.Add(name, value);
            if (generated.Body is not null)
            {
                request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(generated.Body));
                request.Content.Headers.TryAddWithoutValidation("Content-Type", generated.ContentType);
            }

            using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
            var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            report.Add(generated, (int)response.StatusCode, Judge(generated, response, body, checker));
        }

        return report;
    }

    private static string? Judge(DocumentCase generated, HttpResponseMessage response, string body, OpenApiChecker checker)
    {
        var status = (int)response.StatusCode;
        var shown = body.Length <= 300 ? body : body[..300] + "…";
        if (status >= 500)
            return $"failed with {status}: {shown}";
        if (generated.Valid && status is 400 or 401 or 405 or 413 or 415 or 422 or 429)
            return $"valid, refused with {status}: {shown}";
        if (!generated.Valid && (status < 400 || status is 401 or 409 or 429))
            return $"forbidden, answered {status}: {shown}";
        if (!generated.Valid && response.Content.Headers.ContentType?.MediaType != "application/problem+json")
            return $"forbidden, refused with {status} but no problem: {shown}";
        var undocumented = checker.CheckResponse(generated.Method, generated.Path.Split('?')[0], response, body);
        return undocumented.Count == 0 ? null : string.Join("; ", undocumented);
    }
}
