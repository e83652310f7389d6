using CacheFlow.Api.Data;
using CacheFlow.Testing;
using Microsoft.Extensions.Time.Testing;

namespace CacheFlow.Api.Tests;

/// <summary>
/// Claims on the cache outbox, straight on the repository, on SQLite and on PostgreSQL: concurrent claimers take each
/// row once; a claim that ran out is taken over, and its late relay then deletes nothing; a released claim's rows are
/// claimable again; the horizon bounds what is claimed.
/// </summary>
public abstract class OutboxClaimTests : IAsyncLifetime
{
    private const int Rows = 200;
    private static readonly TimeSpan Claim = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private SqlUserRepository? _users;

    protected abstract Task<TestDatabase> CreateDatabaseAsync();

    private TestDatabase Database { get; set; } = null!;

    private IUserRepository Users => _users!;

    public async ValueTask InitializeAsync()
    {
        Database = await CreateDatabaseAsync();
        _users = Database.CreateRepository(_time);
        await _users.InitializeAsync(Rows, CancellationToken.None);
        // One outbox row per user, as a bulk update by any client leaves them.
        Assert.Equal(Rows, await Database.ExecuteAsync("UPDATE users SET is_active = NOT is_active"));
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (_users is IAsyncDisposable disposable)
            await disposable.DisposeAsync();
    }

    [Fact]
    public async Task EightConcurrentClaimersTakeEveryRowOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        var horizon = await Users.OutboxHorizonAsync(ct);
        var claimed = await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            var mine = new List<long>();
            while (true)
            {
                var rows = await Users.ClaimOutboxAsync(Guid.NewGuid().ToString("N"), horizon, 7, Claim, ct);
                if (rows.Count == 0)
                    return mine;
                mine.AddRange(rows.Select(r => r.Id));
            }
        }));

        var all = claimed.SelectMany(c => c).ToList();
        Assert.Equal(Rows, all.Count);
        Assert.Equal(Rows, all.Distinct().Count());
    }

    [Fact]
    public async Task AClaimThatRanOutIsTakenOverAndTheFirstClaimantThenDeletesNothing()
    {
        var ct = TestContext.Current.CancellationToken;
        var horizon = await Users.OutboxHorizonAsync(ct);
        var first = await Users.ClaimOutboxAsync("first", horizon, Rows, Claim, ct);
        Assert.Equal(Rows, first.Count);
        Assert.Empty(await Users.ClaimOutboxAsync("second", horizon, Rows, Claim, ct));

        _time.Advance(Claim + TimeSpan.FromMilliseconds(1));
        var second = await Users.ClaimOutboxAsync("second", horizon, Rows, Claim, ct);

        Assert.Equal(first.Select(r => r.Id).Order(), second.Select(r => r.Id).Order());
        Assert.Equal(0, await Users.ForgetOutboxAsync("first", ct));
        Assert.Equal(Rows, await Users.ForgetOutboxAsync("second", ct));
        Assert.Equal(0, await Database.ScalarAsync("SELECT COUNT(*) FROM cache_outbox"));
    }

    [Fact]
    public async Task AReleasedClaimsRowsAreClaimableAtOnceAndTheHorizonBoundsAClaim()
    {
        var ct = TestContext.Current.CancellationToken;
        var horizon = await Users.OutboxHorizonAsync(ct);
        var released = await Users.ClaimOutboxAsync("released", horizon, 10, Claim, ct);
        await Users.ReleaseOutboxAsync("released", ct);

        Assert.Equal(released.Select(r => r.Id).Order(), (await Users.ClaimOutboxAsync("next", horizon, 10, Claim, ct)).Select(r => r.Id).Order());
        var bounded = await Users.ClaimOutboxAsync("bounded", released[0].Id + 14, Rows, Claim, ct);
        Assert.Equal(Enumerable.Range(10, 5).Select(i => released[0].Id + i), bounded.Select(r => r.Id).Order());
        Assert.Equal(Rows, (await Users.OutboxUsersAsync(ct)).Count);
    }
}

public sealed class SqliteOutboxClaimTests : OutboxClaimTests
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("cacheflow-claims-");

    protected override Task<TestDatabase> CreateDatabaseAsync() => Task.FromResult<TestDatabase>(new SqliteTestDatabase(_data));

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _data.Delete(recursive: true);
    }
}

public sealed class PostgresOutboxClaimTests(PostgresFixture postgres) : OutboxClaimTests, IClassFixture<PostgresFixture>
{
    protected override async Task<TestDatabase> CreateDatabaseAsync()
    {
        if (postgres.Server is null)
            ServerRequirement.Unavailable("PostgreSQL is not installed (apt-get install postgresql)");
        return await PostgresTestDatabase.CreateAsync(postgres.Server!);
    }
}
