using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CacheFlow.Api.Hosting;

/// <summary>
/// Writes a health report as plain text: the status alone when all is well (as the default writer does), then a line
/// per check that is not healthy, with what it says, so an operator sees what is wrong without the logs.
/// </summary>
internal static class HealthReportWriter
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        var lines = report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy)
            .Select(e => $"\n{e.Key}: {e.Value.Status}{(e.Value.Description is { } description ? $": {description}" : "")}");
        return context.Response.WriteAsync(report.Status + string.Concat(lines));
    }
}
