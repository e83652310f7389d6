using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CacheFlow.Api.Health;

/// <summary>
/// Writes <c>/health/ready</c> as JSON: the overall status, and each check's status and description (what it found,
/// such as the durable Redis's settings). Exceptions are left out: the probe is unauthenticated.
/// </summary>
internal static class HealthReportWriter
{
    public static async Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("status", report.Status.ToString());
        json.WriteStartObject("checks");
        foreach (var (name, entry) in report.Entries)
        {
            json.WriteStartObject(name);
            json.WriteString("status", entry.Status.ToString());
            if (entry.Description is { } description)
                json.WriteString("description", description);
            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }
}
