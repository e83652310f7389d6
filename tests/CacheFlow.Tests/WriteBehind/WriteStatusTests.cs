using System.Text.Json;
using CacheFlow.WriteBehind;

namespace CacheFlow.Tests.WriteBehind;

/// <summary>Write statuses as stored in Redis: only what a reader of the status needs, and readable across versions.</summary>
public sealed class WriteStatusTests
{
    private static readonly QueuedWrite Write = QueuedWrite.Parse(
        """{"id":"0190aaaabbbbccccddddeeeeffff0000","kind":"create_user","payload":{"username":"ann","email":"ann@example.com","is_active":true},"enqueued_at":5}""");

    [Fact]
    public void APendingStatusHoldsItsStateAndPayloadAndNothingOfTheQueue()
    {
        var stored = WriteStatus.Of(WriteStatus.Pending, Write).Serialize();

        Assert.Equal("""{"state":"pending","payload":{"username":"ann","email":"ann@example.com","is_active":true}}""", stored);
    }

    [Fact]
    public void AFailedAttemptAddsItsCountAndReasonAndADoneStatusItsResultOnly()
    {
        var failed = Write with { Attempts = 2, Error = "The database did not answer in time.", ErrorCode = "database_unavailable" };

        var pending = WriteStatus.Parse(WriteStatus.Of(WriteStatus.Pending, failed).Serialize());
        var done = WriteStatus.Parse(WriteStatus.Of(WriteStatus.Done, failed, "42").Serialize());

        Assert.Equal((2, "database_unavailable", "The database did not answer in time.", null), (pending.Attempts, pending.ErrorCode, pending.Error, pending.Result));
        Assert.Equal((2, null, null, "42"), (done.Attempts, done.ErrorCode, done.Error, done.Result));
        Assert.Equal("ann", done.Payload.GetProperty("username").GetString());
        Assert.DoesNotContain("enqueued_at", WriteStatus.Of(WriteStatus.Failed, failed).Serialize(), StringComparison.Ordinal);
    }

    [Fact]
    public void AStatusThatKeptTheWholeWriteReadsWithItsPayloadAttemptsAndCode()
    {
        // As versions before statuses were trimmed stored them; such a status lives out its retention.
        var status = WriteStatus.Parse("""
            {"state":"pending","write":{"id":"r1","kind":"create_user","payload":{"username":"ann"},"enqueued_at":5,"attempts":3,
            "error":"The database did not answer in time.","error_code":"database_unavailable"},"result":null,"error":"The database did not answer in time.","error_code":null}
            """);

        Assert.Equal(("pending", 3, "database_unavailable", "The database did not answer in time."), (status.State, status.Attempts, status.ErrorCode, status.Error));
        Assert.Equal(JsonValueKind.Object, status.Payload.ValueKind);
        Assert.Equal("ann", status.Payload.GetProperty("username").GetString());
    }
}
