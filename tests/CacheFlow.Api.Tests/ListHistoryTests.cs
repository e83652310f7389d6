using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CacheFlow.Api.Users;
using Microsoft.Extensions.DependencyInjection;

namespace CacheFlow.Api.Tests;

/// <summary>
/// List pages stay fresh under concurrent changes: writers create users and patch the emails of the first page's
/// users while readers read cached list pages, and the history is checked. A page read that started after a create
/// was acknowledged must count that user in its total, and must hold it if its id falls in the page (ids are given in
/// order without gaps, checked, and nothing is deleted); a page the acknowledged creates make exist must not be a 404;
/// a user a page shows must show an email no older than the last patch of it acknowledged before the read started.
/// On the embedded stack, on redis-server + PostgreSQL and on Redis Cluster; the control, with the list removal taken
/// out, shows the check catching stale pages.
/// </summary>
public abstract class ListHistoryTests(IApiStack stack)
{
    private const int Limit = 25;
    private const int Pages = 6;
    private const int Writers = 2;
    private const int Readers = 3;
    private const int CreatesPerWriter = 40;
    private const int Patches = 150;
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(8);

    [Fact]
    public async Task NoListPageMissesAChangeAcknowledgedBeforeItsReadStarted()
    {
        var history = await ListHistory.RunAsync(stack.Api.CreateClient(), TestContext.Current.CancellationToken);

        TestContext.Current.TestOutputHelper?.WriteLine(history.Report());
        Assert.Contains(history.Reads, r => r.XCache == "HIT");
        Assert.True(history.Stale.Count == 0, $"{history.Stale.Count} stale page reads:\n{string.Join('\n', history.Stale.Take(20))}");
    }

    /// <summary>One page read: when it ran, what it asked and what it saw.</summary>
    internal sealed record PageRead(TimeSpan Start, TimeSpan End, int Page, int Status, long Total, IReadOnlyDictionary<long, long> Versions, string XCache)
    {
        public override string ToString() =>
            string.Create(CultureInfo.InvariantCulture, $"page {Page} read {Start.TotalMilliseconds:F1}-{End.TotalMilliseconds:F1} ms: {Status} {XCache}, total {Total}");
    }

    /// <summary>One acknowledged change: a create (version 0) or a patch of the user's email to a version; when its answer came.</summary>
    internal sealed record Change(long Id, long Version, TimeSpan Acknowledged);

    /// <summary>The writers, readers and clock of one run, and the check of its history.</summary>
    internal sealed class ListHistory
    {
        private readonly HttpClient _client;
        private readonly CancellationToken _cancellationToken;
        private readonly long _origin = Stopwatch.GetTimestamp();
        private readonly ConcurrentQueue<Change> _creates = new();
        private readonly ConcurrentQueue<Change> _patches = new();
        private readonly ConcurrentQueue<PageRead> _reads = new();
        private long _baseline;

        private ListHistory(HttpClient client, CancellationToken cancellationToken) => (_client, _cancellationToken) = (client, cancellationToken);

        private TimeSpan Now => Stopwatch.GetElapsedTime(_origin);

        public IReadOnlyList<PageRead> Reads { get; private set; } = [];

        public IReadOnlyList<string> Stale { get; private set; } = [];

        public static async Task<ListHistory> RunAsync(HttpClient client, CancellationToken cancellationToken)
        {
            var run = new ListHistory(client, cancellationToken);
            // Every page read once first, so the runs below read cached pages (and the total, cached too).
            for (var page = 1; page <= Pages; page++)
                await run.ReadAsync(page);
            run._baseline = run._reads.Max(r => r.Total);
            var workers = Enumerable.Range(0, Writers).Select(w => run.WriteLoopAsync(w)).Append(run.PatchLoopAsync(new Random(400)))
                .Concat(Enumerable.Range(0, Readers).Select(r => run.ReadLoopAsync(new Random(300 + r))));
            await Task.WhenAll(workers);
            run.Reads = [.. run._reads.OrderBy(r => r.Start)];
            run.Stale = run.Check();
            return run;
        }

        private async Task WriteLoopAsync(int writer)
        {
            for (var i = 0; i < CreatesPerWriter && Now < Duration; i++)
            {
                var username = string.Create(CultureInfo.InvariantCulture, $"lh{writer}x{i}x{Guid.NewGuid():N}")[..24];
                using var response = await _client.PostAsJsonAsync("/users", new { username, email = $"{username}@example.com" }, _cancellationToken);
                var created = await response.JsonAsync(HttpStatusCode.Created);
                _creates.Enqueue(new Change((long)created["id"]!, 0, Now));
                await Task.Delay(20, _cancellationToken);
            }
        }

        /// <summary>Patches the email of a random user of the first page to its next version (one writer: versions rise per user).</summary>
        private async Task PatchLoopAsync(Random random)
        {
            var versions = new long[Limit + 1];
            for (var i = 0; i < Patches && Now < Duration; i++)
            {
                var id = random.Next(1, Limit + 1);
                var version = ++versions[id];
                using var response = await _client.PatchAsJsonAsync($"/users/{id}", new { email = $"v{version}-u{id}@example.com" }, _cancellationToken);
                await response.JsonAsync();
                _patches.Enqueue(new Change(id, version, Now));
                await Task.Delay(random.Next(5, 20), _cancellationToken);
            }
        }

        private async Task ReadLoopAsync(Random random)
        {
            while (Now < Duration)
            {
                await ReadAsync(random.Next(1, Pages + 1));
                await Task.Delay(random.Next(2, 8), _cancellationToken);
            }
        }

        private async Task ReadAsync(int page)
        {
            var start = Now;
            using var response = await _client.GetAsync($"/users?page={page}&limit={Limit}", _cancellationToken);
            var body = await response.Content.ReadAsStringAsync(_cancellationToken);
            var end = Now;
            var status = (int)response.StatusCode;
            Assert.True(status is 200 or 404, $"page {page}: {status} {body}");
            var json = JsonNode.Parse(body)!;
            var (total, versions) = status == 200
                ? ((long)json["total"]!, json["users"]!.AsArray().ToDictionary(u => (long)u!["id"]!, u => VersionOf((string)u!["email"]!)))
                : (-1L, new Dictionary<long, long>());
            _reads.Enqueue(new PageRead(start, end, page, status, total, versions, response.XCache()));
        }

        /// <summary>The version an email carries (<c>v{n}-…</c>); 0 for any other.</summary>
        private static long VersionOf(string email) =>
            email.StartsWith('v') && email.IndexOf('-', StringComparison.Ordinal) is > 1 and var dash
                ? long.Parse(email.AsSpan(1, dash - 1), CultureInfo.InvariantCulture)
                : 0;

        /// <summary>What each read missed of the changes acknowledged before it started.</summary>
        private List<string> Check()
        {
            var creates = _creates.OrderBy(c => c.Acknowledged).ToList();
            // Pages are by rank (an offset over ids): a user's page follows from its id only while ids have no gaps.
            Assert.Equal(Enumerable.Range(1, creates.Count).Select(n => _baseline + n), creates.Select(c => c.Id).Order());
            var stale = new List<string>();
            foreach (var read in Reads)
            {
                var before = creates.TakeWhile(c => c.Acknowledged < read.Start).ToList();
                if (before.Count == 0)
                    continue;
                var first = ((read.Page - 1) * Limit) + 1;
                var inPage = before.Where(c => c.Id >= first && c.Id < first + Limit).Select(c => c.Id).ToList();
                var expectedTotal = _baseline + before.Count;
                if (read.Status == 404 && _baseline + before.Count >= first)
                    stale.Add($"{read}: a 404, though {before.Count} creates acknowledged before it make the page exist");
                else if (read.Status == 200 && read.Total < expectedTotal)
                    stale.Add($"{read}: total {read.Total}, though {expectedTotal} users existed before it started");
                else if (read.Status == 200 && inPage.Except(read.Versions.Keys).ToList() is { Count: > 0 } missing)
                    stale.Add($"{read}: missing {string.Join(", ", missing)}, created before it started");
            }

            foreach (var read in Reads.Where(r => r.Status == 200))
            {
                var older = _patches.Where(p => p.Acknowledged < read.Start && read.Versions.TryGetValue(p.Id, out var shown) && shown < p.Version)
                    .GroupBy(p => p.Id).Select(g => $"user {g.Key} at v{read.Versions[g.Key]}, v{g.Max(p => p.Version)} acknowledged before").ToList();
                if (older.Count > 0)
                    stale.Add($"{read}: {string.Join("; ", older)}");
            }

            return stale;
        }

        public string Report() =>
            string.Create(CultureInfo.InvariantCulture,
                $"{_creates.Count} creates, {_patches.Count} patches, {Reads.Count} page reads ({string.Join(", ", Reads.GroupBy(r => r.XCache).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}"))}), {Stale.Count} stale");
    }
}

public sealed class EmbeddedListHistoryTests(EmbeddedStack stack) : ListHistoryTests(stack), IClassFixture<EmbeddedStack>;

public sealed class ServerListHistoryTests(ServerStack stack) : ListHistoryTests(stack), IClassFixture<ServerStack>;

public sealed class ClusterListHistoryTests(ClusterStack stack) : ListHistoryTests(stack), IClassFixture<ClusterStack>;

/// <summary>The control: with the list removal after a create taken out, the same history has stale page reads.</summary>
public sealed class ListHistoryControlTests : IAsyncDisposable
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("cacheflow-api-");
    private readonly ApiFactory _api;

    public ListHistoryControlTests() =>
        _api = new ApiFactory(_data.FullName, services: s => s.AddSingleton(new ListInvalidation(() => Task.FromResult(0L))));

    public async ValueTask DisposeAsync()
    {
        await _api.DisposeAsync();
        _data.Delete(recursive: true);
    }

    [Fact]
    public async Task ControlWithoutTheListRemovalPagesMissChangesAcknowledgedBeforeTheirReadStarted()
    {
        var history = await ListHistoryTests.ListHistory.RunAsync(_api.CreateClient(), TestContext.Current.CancellationToken);

        TestContext.Current.TestOutputHelper?.WriteLine(history.Report());
        Assert.NotEmpty(history.Stale);
    }
}
