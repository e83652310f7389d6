using CacheFlow.Api.Data;
using CacheFlow.Testing;

namespace CacheFlow.Api.Tests;

/// <summary>
/// The migrations leave what the API depends on, on each database, checked in its catalog: the outbox triggers (and
/// PostgreSQL's trigger function), the unique indexes, the outbox's claim columns. And the triggers do what they are
/// for: every insert, delete and update of a cached field, whoever makes it, is recorded in the outbox.
/// </summary>
public abstract class SchemaTests : IAsyncLifetime
{
    private SqlUserRepository? _users;

    protected TestDatabase Database { get; private set; } = null!;

    protected SqlUserRepository Users => _users!;

    /// <summary>Each object the migrations must leave, with a query that counts it (at least 1 if present).</summary>
    protected abstract IReadOnlyList<(string Name, string Sql)> Objects { get; }

    /// <summary>Drops the outbox's update trigger, as a database that never got it would be.</summary>
    protected abstract string DropUpdateTriggerSql { get; }

    /// <summary>The name under which <see cref="Objects"/> lists the update trigger.</summary>
    protected abstract string UpdateTrigger { get; }

    protected abstract Task<TestDatabase> CreateDatabaseAsync();

    public async ValueTask InitializeAsync()
    {
        Database = await CreateDatabaseAsync();
        _users = Database.CreateRepository();
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (_users is IAsyncDisposable disposable)
            await disposable.DisposeAsync();
    }

    /// <summary>The objects of <see cref="Objects"/> the database lacks.</summary>
    protected async Task<List<string>> MissingAsync()
    {
        var missing = new List<string>();
        foreach (var (name, sql) in Objects)
        {
            if (await Database.ScalarAsync(sql) < 1)
                missing.Add(name);
        }

        return missing;
    }

    [Fact]
    public async Task TheMigrationsLeaveTheOutboxTriggersTheUniqueIndexesAndTheClaimColumns()
    {
        await Users.InitializeAsync(5, TestContext.Current.CancellationToken);

        Assert.Empty(await MissingAsync());
    }

    [Fact]
    public async Task ControlOnADatabaseWhoseUpdateTriggerWasDroppedTheCheckFindsItMissingAndUpdatesGoUnrecorded()
    {
        await Users.InitializeAsync(5, TestContext.Current.CancellationToken);
        await Database.ExecuteAsync(DropUpdateTriggerSql);

        Assert.Equal([UpdateTrigger], await MissingAsync());
        await Database.ExecuteAsync("UPDATE users SET email = 'changed@example.com' WHERE id = 2");
        Assert.Equal(0, await Database.ScalarAsync("SELECT COUNT(*) FROM cache_outbox"));
    }

    [Fact]
    public async Task MigrationThreeAloneCreatesTheOutboxTriggers()
    {
        // Migration 3's database-specific blocks run only where FluentMigrator's processor answers to the name given.
        Users.Migrate(3);

        Assert.DoesNotContain(await MissingAsync(), o => o.StartsWith("trigger", StringComparison.Ordinal));
    }

    [Fact]
    public async Task EveryInsertDeleteAndUpdateOfACachedFieldByAnyClientIsRecordedAndALoginCountIsNot()
    {
        await Users.InitializeAsync(5, TestContext.Current.CancellationToken);
        Assert.Equal(0, await Database.ScalarAsync("SELECT COUNT(*) FROM cache_outbox"));

        await Database.ExecuteAsync("UPDATE users SET login_count = login_count + 1");
        Assert.Equal(0, await Database.ScalarAsync("SELECT COUNT(*) FROM cache_outbox"));

        await Database.ExecuteAsync("UPDATE users SET username = 'renamed2' WHERE id = 2");
        await Database.ExecuteAsync("UPDATE users SET email = 'changed3@example.com' WHERE id = 3");
        await Database.ExecuteAsync("UPDATE users SET is_active = NOT is_active WHERE id = 4");
        await Database.ExecuteAsync("DELETE FROM users WHERE id = 5");
        await Database.ExecuteAsync("INSERT INTO users (username, email, is_active, login_count, created_at) VALUES ('newcomer', 'newcomer@example.com', TRUE, 0, CURRENT_TIMESTAMP)");
        var inserted = await Database.ScalarAsync("SELECT id FROM users WHERE username = 'newcomer'");

        Assert.Equal(["2", "3", "4", "5", inserted.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            await Database.ColumnAsync("SELECT user_id FROM cache_outbox ORDER BY id"));
    }
}

public sealed class SqliteSchemaTests : SchemaTests
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("cacheflow-schema-");

    protected override IReadOnlyList<(string Name, string Sql)> Objects =>
    [
        ("trigger users_outbox_insert", "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'users_outbox_insert' AND tbl_name = 'users'"),
        ("trigger users_outbox_update", "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'users_outbox_update' AND tbl_name = 'users'"),
        ("trigger users_outbox_delete", "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'users_outbox_delete' AND tbl_name = 'users'"),
        ("unique index on users.username", UniqueOn("username")),
        ("unique index on users.email", UniqueOn("email")),
        ("unique index ux_users_username_lower", "SELECT COUNT(*) FROM pragma_index_list('users') WHERE name = 'ux_users_username_lower' AND \"unique\" = 1"),
        ("column cache_outbox.claim", "SELECT COUNT(*) FROM pragma_table_info('cache_outbox') WHERE name = 'claim'"),
        ("column cache_outbox.claimed_until", "SELECT COUNT(*) FROM pragma_table_info('cache_outbox') WHERE name = 'claimed_until'"),
        ("index ix_cache_outbox_claim", "SELECT COUNT(*) FROM pragma_index_list('cache_outbox') WHERE name = 'ix_cache_outbox_claim'"),
    ];

    protected override string DropUpdateTriggerSql => "DROP TRIGGER users_outbox_update";

    protected override string UpdateTrigger => "trigger users_outbox_update";

    protected override Task<TestDatabase> CreateDatabaseAsync() => Task.FromResult<TestDatabase>(new SqliteTestDatabase(_data));

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _data.Delete(recursive: true);
    }

    // A unique index whose only column is this one (a column's UNIQUE constraint, whatever SQLite named it).
    private static string UniqueOn(string column) =>
        $"SELECT COUNT(*) FROM pragma_index_list('users') AS il WHERE il.\"unique\" = 1 AND (SELECT group_concat(name) FROM pragma_index_info(il.name)) = '{column}'";
}

public sealed class PostgresSchemaTests(PostgresFixture postgres) : SchemaTests, IClassFixture<PostgresFixture>
{
    protected override IReadOnlyList<(string Name, string Sql)> Objects =>
    [
        ("trigger users_outbox", "SELECT COUNT(*) FROM pg_trigger WHERE tgname = 'users_outbox' AND tgrelid = 'users'::regclass AND tgenabled <> 'D'"),
        ("function users_outbox", "SELECT COUNT(*) FROM pg_proc WHERE proname = 'users_outbox'"),
        ("unique index on users.username", UniqueOn("(username)")),
        ("unique index on users.email", UniqueOn("(email)")),
        ("unique index ux_users_username_lower", "SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'users' AND indexname = 'ux_users_username_lower' AND indexdef LIKE 'CREATE UNIQUE INDEX%'"),
        ("column cache_outbox.claim", "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'cache_outbox' AND column_name = 'claim'"),
        ("column cache_outbox.claimed_until", "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'cache_outbox' AND column_name = 'claimed_until'"),
        ("index ix_cache_outbox_claim", "SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'cache_outbox' AND indexname = 'ix_cache_outbox_claim'"),
    ];

    protected override string DropUpdateTriggerSql => "DROP TRIGGER users_outbox ON users";

    protected override string UpdateTrigger => "trigger users_outbox";

    protected override async Task<TestDatabase> CreateDatabaseAsync()
    {
        if (postgres.Server is null)
            ServerRequirement.Unavailable("PostgreSQL is not installed (apt-get install postgresql)");
        return await PostgresTestDatabase.CreateAsync(postgres.Server!);
    }

    [Fact]
    public async Task ADatabaseWhoseMigrationThreeSkippedTheTriggerGetsItFromMigrationFive()
    {
        // The state of every PostgreSQL database migrated before migration 3 named its processor rightly.
        Users.Migrate(4);
        await Database.ExecuteAsync("DROP TRIGGER users_outbox ON users; DROP FUNCTION users_outbox()");
        Assert.Equal(["trigger users_outbox", "function users_outbox"], (await MissingAsync()).Where(o => o.EndsWith("users_outbox", StringComparison.Ordinal)));

        await Users.InitializeAsync(0, TestContext.Current.CancellationToken);

        Assert.Empty(await MissingAsync());
        await Database.ExecuteAsync("INSERT INTO users (username, email, is_active, login_count, created_at) VALUES ('late', 'late@example.com', TRUE, 0, now())");
        Assert.Equal(1, await Database.ScalarAsync("SELECT COUNT(*) FROM cache_outbox"));
    }

    [Fact]
    public async Task MigrationFiveRunTwiceLeavesOneTrigger()
    {
        await Users.InitializeAsync(0, TestContext.Current.CancellationToken);
        // Down to 4 and up again: migration 5's statements run on a database that has the trigger already.
        await Database.ExecuteAsync("DELETE FROM \"VersionInfo\" WHERE \"Version\" >= 5; ALTER TABLE cache_outbox DROP COLUMN claim, DROP COLUMN claimed_until");
        await Users.InitializeAsync(0, TestContext.Current.CancellationToken);

        Assert.Empty(await MissingAsync());
        Assert.Equal(1, await Database.ScalarAsync("SELECT COUNT(*) FROM pg_trigger WHERE tgrelid = 'users'::regclass AND NOT tgisinternal"));
    }

    private static string UniqueOn(string columns) =>
        $"SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'users' AND indexdef LIKE 'CREATE UNIQUE INDEX%' AND indexdef LIKE '%USING btree {columns}'";
}
