using System.ComponentModel.DataAnnotations;
using System.Net.Http.Json;
using CacheFlow.Api.Data;
using CacheFlow.Api.Health;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace CacheFlow.Api.Observability;

/// <summary>
/// A steady demo load against this API over HTTP, so the dashboard's charts move on a fresh machine: user ids drawn
/// from a Zipf distribution (a few hot users, a long tail), mostly reads with some list pages, logins, updates and
/// misses for ids that do not exist. Started with <c>--demo-load</c> or from the dashboard; bounded in rate.
/// </summary>
public sealed class DemoLoad(IServer server, IUserRepository users, BackgroundFailures failures, IOptions<DemoLoadOptions> options, ILogger<DemoLoad> logger)
    : BackgroundService
{
    private volatile bool _running = options.Value.OnStartup;

    /// <summary>The worker's name in logs, metrics and readiness.</summary>
    public const string Worker = "demo-load";

    private const string TokenHeader = "X-Demo-Load";

    // Known to this process alone: a request carrying it was sent by the demo load, which the rate limits let through.
    private readonly string _token = Guid.NewGuid().ToString("N");

    /// <summary>Whether the load is running.</summary>
    public bool Running => _running;

    /// <summary>Starts the load.</summary>
    public void Start() => _running = true;

    /// <summary>Stops the load.</summary>
    public void Stop() => _running = false;

    /// <summary>Whether this process's demo load sent <paramref name="request"/>.</summary>
    public bool Sent(HttpRequest request) => request.Headers[TokenHeader] == _token;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var client = new HttpClient();
        client.DefaultRequestHeaders.Add(TokenHeader, _token);
        ZipfSampler? ids = null;
        var random = new Random(7);
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        try
        {
            while (await tick.WaitForNextTickAsync(stoppingToken))
            {
                if (!_running || server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() is not { } address)
                    continue;
                try
                {
                    client.BaseAddress ??= new Uri(address.Replace("://+", "://localhost", StringComparison.Ordinal).Replace("://*", "://localhost", StringComparison.Ordinal));
                    ids ??= new ZipfSampler((int)Math.Max(1, await users.CountAsync(stoppingToken)), 1.1);
                    var requests = Enumerable.Range(0, Math.Max(1, options.Value.RequestsPerSecond / 20)).Select(_ => SendOneAsync(client, ids, random, stoppingToken));
                    await Task.WhenAll(requests);
                    failures.Succeeded(Worker);
                }
                catch (Exception ex) when (!(ex is OperationCanceledException && stoppingToken.IsCancellationRequested))
                {
                    // Counting the users needs the database: without it the load waits for the next tick.
                    if (failures.Failed(Worker, ex))
                        Log.DemoRequestFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async Task SendOneAsync(HttpClient client, ZipfSampler ids, Random random, CancellationToken cancellationToken)
    {
        var id = ids.Next(random);
        var roll = random.NextDouble();
        try
        {
            using var response = roll switch
            {
                < 0.85 => await client.GetAsync($"/users/{id}", cancellationToken),
                < 0.93 => await client.GetAsync($"/users?page={Math.Min(50, (id / 20) + 1)}&limit=20", cancellationToken),
                < 0.98 => await client.PostAsync($"/users/{id}/logins", null, cancellationToken),
                < 0.995 => await client.PatchAsJsonAsync($"/users/{id}", new { is_active = random.Next(2) == 1 }, cancellationToken),
                _ => await client.GetAsync($"/users/{ids.Count + 1 + random.Next(100)}", cancellationToken),
            };
        }
        catch (HttpRequestException ex)
        {
            Log.DemoRequestFailed(logger, ex);
        }
    }

    /// <summary>Draws ranks 1..n with probability proportional to 1/k^s.</summary>
    private sealed class ZipfSampler
    {
        private readonly double[] _cumulative;

        public ZipfSampler(int n, double s)
        {
            _cumulative = new double[n];
            var sum = 0.0;
            for (var k = 1; k <= n; k++)
                _cumulative[k - 1] = sum += 1 / Math.Pow(k, s);
            for (var k = 0; k < n; k++)
                _cumulative[k] /= sum;
        }

        public int Count => _cumulative.Length;

        public int Next(Random random)
        {
            var index = Array.BinarySearch(_cumulative, random.NextDouble());
            return (index < 0 ? ~index : index) + 1;
        }
    }
}

/// <summary>The demo load (configuration section <c>DemoLoad</c>; <c>--demo-load</c> sets <c>OnStartup</c>).</summary>
public sealed class DemoLoadOptions
{
    /// <summary>Whether the load starts with the API.</summary>
    /// <value>The default value is false.</value>
    public bool OnStartup { get; set; }

    /// <summary>How many requests a second it sends.</summary>
    /// <value>The default value is 200.</value>
    [Range(1, 5_000)]
    public int RequestsPerSecond { get; set; } = 200;
}
