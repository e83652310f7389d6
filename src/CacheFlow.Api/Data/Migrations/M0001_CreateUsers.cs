using FluentMigrator;

namespace CacheFlow.Api.Data.Migrations;

/// <summary>The users table: one definition for PostgreSQL and SQLite.</summary>
[Migration(1, "Create users")]
public sealed class M0001_CreateUsers : Migration
{
    /// <inheritdoc />
    public override void Up() =>
        Create.Table("users")
            .WithColumn("id").AsInt64().PrimaryKey().Identity()
            .WithColumn("username").AsString(32).NotNullable().Unique("ux_users_username")
            .WithColumn("email").AsString(254).NotNullable().Unique("ux_users_email")
            .WithColumn("is_active").AsBoolean().NotNullable()
            .WithColumn("login_count").AsInt64().NotNullable()
            // UTC by convention: a plain timestamp, the one type both databases map the same way.
            .WithColumn("created_at").AsDateTime().NotNullable();

    /// <inheritdoc />
    public override void Down() => Delete.Table("users");
}
