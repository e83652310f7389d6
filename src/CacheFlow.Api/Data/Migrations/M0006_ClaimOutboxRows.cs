using FluentMigrator;

namespace CacheFlow.Api.Data.Migrations;

/// <summary>
/// Claims on cache outbox rows, so each row is applied by one relay of however many instances run: <c>claim</c> is
/// the claiming relay's random token, <c>claimed_until</c> when the claim runs out (Unix milliseconds), after which
/// another relay may take the row (its relay died or hung). The index serves the deletion of a claim's rows.
/// </summary>
[Migration(6, "Claim cache outbox rows")]
public sealed class M0006_ClaimOutboxRows : Migration
{
    /// <inheritdoc />
    public override void Up()
    {
        Alter.Table("cache_outbox")
            .AddColumn("claim").AsString(32).Nullable()
            .AddColumn("claimed_until").AsInt64().Nullable();
        Create.Index("ix_cache_outbox_claim").OnTable("cache_outbox").OnColumn("claim");
    }

    /// <inheritdoc />
    public override void Down()
    {
        Delete.Index("ix_cache_outbox_claim").OnTable("cache_outbox");
        Delete.Column("claim").Column("claimed_until").FromTable("cache_outbox");
    }
}
