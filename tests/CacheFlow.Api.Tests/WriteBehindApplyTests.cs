using CacheFlow.Api.Data;
using CacheFlow.Testing;
using Microsoft.Data.Sqlite;

namespace CacheFlow.Api.Tests;

/// <summary>
/// The write-behind applies, straight on the repository, on SQLite and on PostgreSQL: a batch of creates applied once
/// however often delivered, clashes (with existing rows or within the batch) reported by field; login counts added
/// once per flush.
/// </summary>
public abstract class WriteBehindApplyTests : IAsyncLifetime
{
    private IUserRepository _users = null!;

    protected abstract Task<IUserRepository> CreateAsync();

    public async ValueTask InitializeAsync()
    {
        _users = await CreateAsync();
        await _users.InitializeAsync(0, CancellationToken.None);
    }

    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static QueuedCreate Create(string requestId, string username, string? email = null) =>
        new(requestId, username, email ?? $"{username}@example.com", true);

    [Fact]
    public async Task ABatchDeliveredTwiceCreatesEachUserOnceAndAnswersWithTheSameUsers()
    {
        QueuedCreate[] batch = [Create("r1", "ann"), Create("r2", "bob"), Create("r3", "cat")];

        var first = await _users.ApplyCreatesAsync(batch, CancellationToken.None);
        var again = await _users.ApplyCreatesAsync([batch[1], Create("r4", "dan"), batch[0], batch[2]], CancellationToken.None);

        Assert.Equal(["r1", "r2", "r3"], first.Select(o => o.RequestId));
        Assert.All(first, o => Assert.Null(o.DuplicateField));
        Assert.Equal(["r2", "r4", "r1", "r3"], again.Select(o => o.RequestId));
        Assert.Equal([first[1].User!.Id, first[0].User!.Id, first[2].User!.Id], new[] { again[0], again[2], again[3] }.Select(o => o.User!.Id));
        Assert.Equal("dan", again[1].User!.Username);
        Assert.Equal(4, (await _users.ListAsync(1, 10, CancellationToken.None)).Total);
    }

    [Fact]
    public async Task ClashesWithExistingUsersAndWithinTheBatchAreReportedByFieldAndTheRestIsApplied()
    {
        await _users.CreateAsync("eve", "eve@example.com", true, CancellationToken.None);

        var outcomes = await _users.ApplyCreatesAsync(
        [
            Create("r1", "eve", "other@example.com"),
            Create("r2", "fay", "eve@example.com"),
            Create("r3", "gil"),
            Create("r4", "gil", "gil2@example.com"),
            Create("r5", "hal"),
        ], CancellationToken.None);

        Assert.Equal(["username", "email", null, "username", null], outcomes.Select(o => o.DuplicateField));
        Assert.Equal([null, null, "gil", null, "hal"], outcomes.Select(o => o.User?.Username));
        Assert.Equal("gil@example.com", outcomes[2].User!.Email);
        Assert.Equal(3, (await _users.ListAsync(1, 10, CancellationToken.None)).Total);
    }

    [Fact]
    public async Task AnEmptyBatchAppliesNothing() => Assert.Empty(await _users.ApplyCreatesAsync([], CancellationToken.None));

    [Fact]
    public async Task AFlushOfLoginCountsIsAddedOnceHoweverOftenItIsApplied()
    {
        var ann = await _users.CreateAsync("ann", "ann@example.com", true, CancellationToken.None);
        var bob = await _users.CreateAsync("bob", "bob@example.com", true, CancellationToken.None);
        var flush = new Dictionary<long, long> { [ann.Id] = 3, [bob.Id] = 5 };

        Assert.True(await _users.ApplyLoginsAsync("b1", flush, CancellationToken.None));
        Assert.False(await _users.ApplyLoginsAsync("b1", flush, CancellationToken.None));
        Assert.True(await _users.ApplyLoginsAsync("b2", new Dictionary<long, long> { [bob.Id] = 1 }, CancellationToken.None));

        Assert.Equal((3, 6), ((await _users.GetAsync(ann.Id, CancellationToken.None))!.LoginCount, (await _users.GetAsync(bob.Id, CancellationToken.None))!.LoginCount));
    }
}

public sealed class SqliteWriteBehindApplyTests : WriteBehindApplyTests
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("cacheflow-apply-");

    protected override Task<IUserRepository> CreateAsync() =>
        Task.FromResult<IUserRepository>(new SqliteUserRepository(Path.Combine(_data.FullName, "users.db"), TimeProvider.System));

    public override ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        _data.Delete(recursive: true);
        return ValueTask.CompletedTask;
    }
}

/// <summary>A throwaway PostgreSQL cluster for a test class, when installed.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    public PostgresServer? Server { get; private set; }

    public async ValueTask InitializeAsync()
    {
        if (PostgresServer.BinDirectory is not null)
            Server = await PostgresServer.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (Server is not null)
            await Server.DisposeAsync();
    }
}

public sealed class PostgresWriteBehindApplyTests(PostgresFixture postgres) : WriteBehindApplyTests, IClassFixture<PostgresFixture>
{
    private PostgresUserRepository? _users;

    protected override async Task<IUserRepository> CreateAsync()
    {
        if (postgres.Server is null)
            ServerRequirement.Unavailable("PostgreSQL is not installed (apt-get install postgresql)");
        return _users = new PostgresUserRepository(await postgres.Server!.CreateDatabaseAsync(), TimeProvider.System);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_users is not null)
            await _users.DisposeAsync();
    }
}
