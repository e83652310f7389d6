using System.Text;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace CacheFlow.Api.Tests.Contract;

/// <summary>What anyone can send without a key must not fill the log with stack traces.</summary>
public sealed class BadRequestLoggingTests : IAsyncLifetime
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("cacheflow-api-");
    private readonly CapturingLoggerProvider _logs = new();
    private ApiFactory _api = null!;
    private Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program> _host = null!;

    public ValueTask InitializeAsync()
    {
        _api = new ApiFactory(_data.FullName);
        _host = _api.WithWebHostBuilder(web => web.ConfigureLogging(logging => logging.AddProvider(_logs).AddFilter<CapturingLoggerProvider>(null, LogLevel.Debug)));
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _api.DisposeAsync();
        _data.Delete(recursive: true);
    }

    [Fact]
    public async Task BadRequestsAreLoggedAtDebugWithoutAStackTrace()
    {
        var client = _host.CreateClient();
        await client.GetAsync("/users/1", TestContext.Current.CancellationToken);
        _logs.Clear();

        // Spellings of UTF-8 the framework's reader does not know (they were 500s logged as fail), empty ones, unknown ones.
        foreach (var charset in new[] { "bogus", "utf-7", "utf8", "\"utf-8\"", "\"UTF-8\"", "", "\"\"" })
        {
            foreach (var (method, path) in new[] { ("POST", "/users"), ("PATCH", "/users/1"), ("POST", "/users/async") })
            {
                var content = new ByteArrayContent(Encoding.UTF8.GetBytes("{\"username\":\"valid_name\",\"email\":\"a@b.co\"}"));
                content.Headers.TryAddWithoutValidation("Content-Type", $"application/json; charset={charset}");
                await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = content }, TestContext.Current.CancellationToken);
            }
        }

        await client.GetAsync("/users/abc", TestContext.Current.CancellationToken);
        await client.GetAsync("/users?page=" + new string('x', 8000), TestContext.Current.CancellationToken);
        await client.PostAsync("/users", new StringContent("{\"username\":", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        await client.PostAsync("/users", new StringContent("", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        await client.PostAsync("/cache/warm", null, TestContext.Current.CancellationToken);

        var loud = _logs.Entries.Where(e => e.Exception is not null || e.Level >= LogLevel.Warning).ToList();
        Assert.True(loud.Count == 0, string.Join('\n', loud.Select(e => $"{e.Level} {e.Category}: {e.Message} {e.Exception?.GetType().Name}")));
        Assert.Contains(_logs.Entries, e => e.Level == LogLevel.Debug && e.Message.Contains("answered 415", StringComparison.Ordinal));
    }
}
