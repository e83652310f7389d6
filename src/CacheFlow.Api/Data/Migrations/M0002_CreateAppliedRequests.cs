using FluentMigrator;

namespace CacheFlow.Api.Data.Migrations;

/// <summary>
/// The request ids of applied write-behind writes, recorded in the same transaction as the write, so a write
/// delivered twice (after a crash) is applied once.
/// </summary>
[Migration(2, "Create applied_requests")]
public sealed class M0002_CreateAppliedRequests : Migration
{
    /// <inheritdoc />
    public override void Up() =>
        Create.Table("applied_requests")
            .WithColumn("request_id").AsString(64).PrimaryKey()
            .WithColumn("user_id").AsInt64().Nullable()
            .WithColumn("applied_at").AsDateTime().NotNullable();

    /// <inheritdoc />
    public override void Down() => Delete.Table("applied_requests");
}
