using System.Net;
using System.Text.Json.Nodes;

namespace CacheFlow.Api.Tests;

/// <summary>Reading API responses in tests.</summary>
public static class HttpAssertions
{
    public static string XCache(this HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-Cache", out var values) ? values.Single() : "(none)";

    public static async Task<JsonNode> JsonAsync(this HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"expected {(int)expected}, got {(int)response.StatusCode}: {body}");
        return JsonNode.Parse(body)!;
    }

    /// <summary>Checks an error answer: the status, a problem+json body that says the same status, and no stack trace.</summary>
    public static async Task<JsonNode> ProblemAsync(this HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"expected {(int)expected}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
        var problem = JsonNode.Parse(body)!;
        Assert.Equal((int)expected, (int)problem["status"]!);
        return problem;
    }
}
