using CacheFlow.WriteBehind;

namespace CacheFlow.Tests.WriteBehind;

/// <summary>Queued writes as stored in Redis, read across versions.</summary>
public sealed class QueuedWriteTests
{
    [Fact]
    public void AWriteFailedByAVersionWithoutErrorCodesReadsWithNoCode()
    {
        var write = QueuedWrite.Parse("""{"id":"r1","kind":"create_user","payload":{"username":"ann"},"enqueued_at":5,"attempts":2,"error":"Another user already has this username."}""");

        Assert.Equal(("r1", 2, "Another user already has this username.", null), (write.Id, write.Attempts, write.Error, write.ErrorCode));
    }

    [Fact]
    public void AnErrorCodeIsStoredBesideTheMessage()
    {
        var failed = QueuedWrite.Parse("""{"id":"r1","kind":"k","payload":{},"enqueued_at":5}""")
            with { Error = "The database refused a value of this write.", ErrorCode = "invalid_value" };

        var write = QueuedWrite.Parse(failed.Serialize());

        Assert.Equal(("invalid_value", "The database refused a value of this write."), (write.ErrorCode, write.Error));
    }
}
