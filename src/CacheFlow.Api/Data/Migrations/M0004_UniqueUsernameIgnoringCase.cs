using FluentMigrator;

namespace CacheFlow.Api.Data.Migrations;

/// <summary>
/// Usernames are unique whatever their case, as emails are: a username is stored as given ("Ann") and a unique index
/// on <c>lower(username)</c> refuses "ann" beside it. The same statement on PostgreSQL and SQLite (usernames are
/// ASCII, which both <c>lower</c> functions fold alike). On a database holding two usernames that differ only in case
/// the migration fails, naming the index; rename one of them and start again.
/// </summary>
[Migration(4, "Unique usernames ignoring case")]
public sealed class M0004_UniqueUsernameIgnoringCase : Migration
{
    /// <summary>The index's name: it holds "username", which is how a unique violation is traced to its field.</summary>
    public const string IndexName = "ux_users_username_lower";

    /// <inheritdoc />
    public override void Up() => Execute.Sql($"CREATE UNIQUE INDEX {IndexName} ON users (lower(username))");

    /// <inheritdoc />
    public override void Down() => Execute.Sql($"DROP INDEX {IndexName}");
}
