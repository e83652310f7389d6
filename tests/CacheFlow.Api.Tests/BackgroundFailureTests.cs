using System.Net;
using CacheFlow.Api.Health;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CacheFlow.Api.Tests;

/// <summary>
/// A relay that meets an error that is not an outage (a bug, a broken database: here the repository's outbox calls
/// throw, through <see cref="ScriptedRepository"/>) keeps the API starting and serving, says what is wrong in
/// <c>/health/ready</c> and counts it; once the fault is gone, readiness is healthy again. The controls show what the
/// same fault did before: the host did not start (every instance crash-looped while an outbox row remained), or,
/// meeting it later, stopped. The fault is injected above the database, so one database (the embedded SQLite) shows it.
/// </summary>
public sealed class BackgroundFailureTests : IAsyncDisposable
{
    private static readonly Dictionary<string, string> FastRelay = new() { ["Outbox:Interval"] = "00:00:00.050" };

    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("cacheflow-background-");
    private readonly ScriptedRepository _repository = new();
    private readonly List<IAsyncDisposable> _hosts = [];
    private volatile bool _broken = true;

    public BackgroundFailureTests() =>
        _repository.BeforeOutbox = () => _broken ? throw new InvalidOperationException("A bug in the outbox relay") : Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _hosts)
            await host.DisposeAsync();
        _data.Delete(recursive: true);
    }

    [Fact]
    public async Task ARelayThatMeetsABugKeepsTheApiServingReportsItInReadinessAndCountsItThenHealsWhenItIsGone()
    {
        var api = Track(new ApiFactory(_data.FullName, settings: FastRelay, repository: _repository));
        // Its start met the fault (the relay's first call is made before the API takes requests) and went on.
        var client = api.CreateClient();
        using var failures = new InstanceCounter(api.Services, "cacheflow.background.failures", ("worker", "outbox"), ("outage", false));
        var lifetime = api.Services.GetRequiredService<IHostApplicationLifetime>();

        Assert.Equal("user00001", (string)(await (await client.GetAsync("/users/1")).JsonAsync())["username"]!);
        var ready = await (await client.GetAsync("/health/ready")).JsonAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Equal("Unhealthy", (string)ready["status"]!);
        var background = ready["checks"]!["background"]!;
        Assert.Equal("Unhealthy", (string)background["status"]!);
        Assert.StartsWith("outbox failed ", (string)background["description"]!, StringComparison.Ordinal);
        Assert.Contains("InvalidOperationException", (string)background["description"]!, StringComparison.Ordinal);
        await Eventually.TrueAsync(() => failures.Total >= 3, "three more failed ticks were counted");
        Assert.False(lifetime.ApplicationStopping.IsCancellationRequested);

        _broken = false;

        await Eventually.TrueAsync(async () => (await client.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK, "readiness was healthy again");
        Assert.Equal("Healthy", (string)(await (await client.GetAsync("/health/ready")).JsonAsync())["status"]!);
        Assert.Empty(api.Services.GetRequiredService<BackgroundFailures>().Faults);
    }

    [Fact]
    public void ControlWithTheFailureThrownAsBeforeAndTheHostsDefaultBehaviourTheApiDoesNotStart()
    {
        var api = Track(AsBefore(new ApiFactory(_data.FullName, settings: FastRelay, repository: _repository)));

        var start = Assert.ThrowsAny<Exception>(() => api.CreateClient());

        Assert.Contains("A bug in the outbox relay", start.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ControlWithTheFailureThrownAsBeforeAndTheHostsDefaultBehaviourAFaultMetLaterStopsTheHost()
    {
        _broken = false;
        var api = Track(AsBefore(new ApiFactory(_data.FullName, settings: FastRelay, repository: _repository)));
        api.CreateClient();
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        api.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => stopping.TrySetResult());

        _broken = true;

        // Bounded only so that a broken control fails rather than hangs: the next tick (50 ms) stops the host.
        await stopping.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
    }

    /// <summary>Background failures thrown on after they are recorded, and the host stopping on them: as before.</summary>
    private static Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program> AsBefore(ApiFactory api) =>
        api.WithWebHostBuilder(builder => builder.ConfigureTestServices(services =>
        {
            services.AddSingleton(sp =>
            {
                var failures = ActivatorUtilities.CreateInstance<BackgroundFailures>(sp);
                failures.Rethrow = true;
                return failures;
            });
            services.Configure<HostOptions>(host => host.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost);
        }));

    private T Track<T>(T host) where T : IAsyncDisposable
    {
        _hosts.Add(host);
        return host;
    }
}
