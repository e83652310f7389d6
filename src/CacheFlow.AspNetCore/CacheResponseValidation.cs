using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CacheFlow.AspNetCore;

/// <summary>
/// Builds every endpoint while the host starts, so the filter factory of a <c>.CacheResponse</c> endpoint whose key
/// cannot cover its handler runs then and fails the start, instead of failing each request once the app is up
/// (minimal APIs build endpoints lazily, when routing first needs them).
/// </summary>
internal sealed class CacheResponseValidation(IServiceProvider services) : IHostedLifecycleService
{
    // Before the web host has built its pipeline the endpoint sources are not registered yet; reading them then still
    // subscribes to their registration, which rebuilds (and fails) inside the web host's own start. After it has
    // started they are all there: reading them builds every endpoint. Either way the host does not start.
    public Task StartAsync(CancellationToken cancellationToken) => BuildEndpoints();

    public Task StartedAsync(CancellationToken cancellationToken) => BuildEndpoints();

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private Task BuildEndpoints()
    {
        _ = services.GetService<EndpointDataSource>()?.Endpoints;
        return Task.CompletedTask;
    }
}
