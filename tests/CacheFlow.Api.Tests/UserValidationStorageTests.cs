using CacheFlow.Api.Data;
using CacheFlow.Api.Users;
using CacheFlow.Testing;
using Dapper;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace CacheFlow.Api.Tests;

/// <summary>
/// The field rules against the repositories, on SQLite and on PostgreSQL: what validation accepts is stored and read
/// back unchanged (as normalized); usernames and emails are unique the same way on both; a write-behind batch with a
/// value the database refuses applies the others.
/// </summary>
public abstract class UserValidationStorageTests : IAsyncLifetime
{
    private IUserRepository _users = null!;

    protected abstract Task<IUserRepository> CreateAsync();

    /// <summary>Runs SQL of the test's own on the database (a rule for the repository to meet).</summary>
    protected abstract Task ExecuteAsync(string sql);

    protected IUserRepository Users => _users;

    public async ValueTask InitializeAsync()
    {
        _users = await CreateAsync();
        await _users.InitializeAsync(0, CancellationToken.None);
    }

    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task WhatValidationAcceptsIsStoredAndReadBackUnchanged()
    {
        var text = new NastyText(UserValidationTests.Seed);
        var accepted = 0;
        for (var i = 0; i < 300; i++)
        {
            var username = text.Username($"p{i:D3}");
            var email = text.Email($"m{i:D3}");
            if (UserValidation.Validate(username, email, required: true).Count > 0)
                continue;
            accepted++;
            var stored = UserValidation.NormalizeEmail(email);
            var context = $"case {i}: {UserValidationTests.Show(username)} / {UserValidationTests.Show(email)}";
            Assert.True(UserValidationTests.IsNfc(stored), context);

            var created = await _users.CreateAsync(username, stored, true, CancellationToken.None);
            var read = await _users.GetAsync(created.Id, CancellationToken.None);

            Assert.Equal((username, stored), (created.Username, created.Email));
            Assert.True((username, stored) == (read!.Username, read.Email), context);
        }

        Assert.True(accepted >= 45, $"only {accepted} of 300 cases were accepted");
    }

    [Fact]
    public async Task UsernamesAreUniqueWhateverTheirCaseAndTheClashNamesTheField()
    {
        var ann = await _users.CreateAsync("Ann.Case", "ann.case@example.com", true, CancellationToken.None);

        var create = await Assert.ThrowsAsync<DuplicateUserException>(() => _users.CreateAsync("ann.CASE", "other.case@example.com", true, CancellationToken.None));
        var bob = await _users.CreateAsync("bob.case", "bob.case@example.com", true, CancellationToken.None);
        var update = await Assert.ThrowsAsync<DuplicateUserException>(() => _users.UpdateAsync(bob.Id, "ANN.case", null, null, CancellationToken.None));

        Assert.Equal(("username", "username"), (create.Field, update.Field));
        Assert.Equal("username", await _users.FindClashAsync("aNN.cASE", "new.case@example.com", CancellationToken.None));
        Assert.Equal("Ann.Case", (await _users.GetAsync(ann.Id, CancellationToken.None))!.Username);
    }

    [Fact]
    public async Task AnEmailTypedDecomposedClashesWithTheSameEmailComposed()
    {
        await _users.CreateAsync("nfc.one", UserValidation.NormalizeEmail("Caf\u00E9@example.com"), true, CancellationToken.None);

        var clash = await Assert.ThrowsAsync<DuplicateUserException>(
            () => _users.CreateAsync("nfc.two", UserValidation.NormalizeEmail("CAFE\u0301@example.com"), true, CancellationToken.None));

        Assert.Equal("email", clash.Field);
    }

    [Fact]
    public async Task AQueuedCreateWhoseUsernameDiffersOnlyInCaseClashesByUsername()
    {
        await _users.CreateAsync("Dora", "dora@example.com", true, CancellationToken.None);

        var outcomes = await _users.ApplyCreatesAsync(
            [new("c1", "dORA", "dora2@example.com", true), new("c2", "Eli", "eli@example.com", true), new("c3", "ELI", "eli2@example.com", true)],
            CancellationToken.None);

        Assert.Equal(["username", null, "username"], outcomes.Select(o => o.DuplicateField));
        Assert.Equal("Eli", outcomes[1].User!.Username);
    }

    [Fact]
    public async Task ABatchWithAValueTheDatabaseRefusesAppliesTheOthersAndReportsTheRefusedOneAlone()
    {
        await ExecuteAsync(RefusePoisonSql);

        var outcomes = await _users.ApplyCreatesAsync(
        [
            new("r1", "fine.one", "fine.one@example.com", true),
            new("r2", "poison", "poison@example.com", true),
            new("r3", "fine.two", "fine.two@example.com", true),
            new("r4", "fine.three", "fine.three@example.com", true),
        ], CancellationToken.None);

        Assert.Equal([false, true, false, false], outcomes.Select(o => o.Refused));
        Assert.Equal(["fine.one", null, "fine.two", "fine.three"], outcomes.Select(o => o.User?.Username));
        Assert.Equal(3, (await _users.ListAsync(1, 10, CancellationToken.None)).Total);
        // Delivered again (a retry): the applied ones are found applied, the refused one refused again.
        var again = await _users.ApplyCreatesAsync([new("r2", "poison", "poison@example.com", true), new("r3", "fine.two", "fine.two@example.com", true)], CancellationToken.None);
        Assert.Equal([true, false], again.Select(o => o.Refused));
        Assert.Equal(outcomes[2].User!.Id, again[1].User!.Id);
    }

    /// <summary>A rule of the database's own that refuses the username "poison".</summary>
    protected abstract string RefusePoisonSql { get; }
}

public sealed class SqliteUserValidationStorageTests : UserValidationStorageTests
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("cacheflow-valid-");

    private string DatabasePath => Path.Combine(_data.FullName, "users.db");

    protected override string RefusePoisonSql =>
        "CREATE TRIGGER no_poison BEFORE INSERT ON users WHEN NEW.username = 'poison' BEGIN SELECT RAISE(ABORT, 'no poison'); END";

    protected override Task<IUserRepository> CreateAsync() => Task.FromResult<IUserRepository>(new SqliteUserRepository(DatabasePath, TimeProvider.System));

    protected override async Task ExecuteAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={DatabasePath}");
        await connection.ExecuteAsync(sql);
    }

    public override ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        _data.Delete(recursive: true);
        return ValueTask.CompletedTask;
    }
}

public sealed class PostgresUserValidationStorageTests(PostgresFixture postgres) : UserValidationStorageTests, IClassFixture<PostgresFixture>
{
    private NpgsqlDataSource? _dataSource;
    private PostgresUserRepository? _users;

    protected override string RefusePoisonSql => "ALTER TABLE users ADD CONSTRAINT no_poison CHECK (username <> 'poison')";

    protected override async Task<IUserRepository> CreateAsync()
    {
        if (postgres.Server is null)
            ServerRequirement.Unavailable("PostgreSQL is not installed (apt-get install postgresql)");
        var database = await postgres.Server!.CreateDatabaseAsync();
        _dataSource = NpgsqlDataSource.Create(database);
        return _users = new PostgresUserRepository(database, TimeProvider.System);
    }

    protected override async Task ExecuteAsync(string sql)
    {
        await using var connection = await _dataSource!.OpenConnectionAsync();
        await connection.ExecuteAsync(sql);
    }

    [Fact]
    public async Task ABatchWithAValueTooLongOrANulAppliesTheOthers()
    {
        // What QA sent past validation: 32 characters and a newline (22001), a NUL (22021).
        var outcomes = await Users.ApplyCreatesAsync(
        [
            new("n1", "ok.one", "ok.one@example.com", true),
            new("n2", "abcdefghijklmnopqrstuvwxyz012345\n", "long@example.com", true),
            new("n3", "nul", "n\0l@example.com", true),
            new("n4", "ok.two", "ok.two@example.com", true),
        ], CancellationToken.None);

        Assert.Equal([false, true, true, false], outcomes.Select(o => o.Refused));
        Assert.Equal(["ok.one", null, null, "ok.two"], outcomes.Select(o => o.User?.Username));
    }

    public override async ValueTask DisposeAsync()
    {
        if (_dataSource is not null)
            await _dataSource.DisposeAsync();
        if (_users is not null)
            await _users.DisposeAsync();
    }
}
