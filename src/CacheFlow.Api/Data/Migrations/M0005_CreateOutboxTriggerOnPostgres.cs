using FluentMigrator;

namespace CacheFlow.Api.Data.Migrations;

/// <summary>
/// The cache outbox's trigger on PostgreSQL, for databases that recorded <see cref="M0003_CreateCacheOutbox"/> as
/// applied while its PostgreSQL block was skipped (it named a processor id FluentMigrator 8 does not use). Idempotent:
/// on a database where migration 3 did create them, the function is replaced by the same one and the trigger made again.
/// SQLite's triggers were always created by migration 3.
/// </summary>
[Migration(5, "Create the cache outbox trigger on PostgreSQL")]
public sealed class M0005_CreateOutboxTriggerOnPostgres : Migration
{
    /// <inheritdoc />
    public override void Up() =>
        IfDatabase(ProcessorIdConstants.PostgreSQL).Execute.Sql("""
            CREATE OR REPLACE FUNCTION users_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO cache_outbox (user_id) VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
                RETURN NULL;
            END $$;
            DROP TRIGGER IF EXISTS users_outbox ON users;
            CREATE TRIGGER users_outbox AFTER INSERT OR DELETE OR UPDATE OF username, email, is_active ON users
                FOR EACH ROW EXECUTE FUNCTION users_outbox();
            """);

    /// <inheritdoc />
    /// <remarks>Nothing: migration 3's Down drops the trigger and the function, whichever migration made them.</remarks>
    public override void Down()
    {
    }
}
