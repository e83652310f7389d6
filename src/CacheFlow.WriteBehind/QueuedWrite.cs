using System.Text.Json;
using System.Text.Json.Serialization;

namespace CacheFlow.WriteBehind;

/// <summary>A write accepted into a <see cref="WriteBehindQueue"/>, waiting to be applied to the source of truth.</summary>
/// <param name="Id">The request id: the key of idempotent apply and of the status.</param>
/// <param name="Kind">What to apply, e.g. <c>create_user</c>.</param>
/// <param name="Payload">The write itself, as JSON.</param>
/// <param name="EnqueuedAt">When it was accepted, Unix ms.</param>
/// <param name="Attempts">How many times applying it failed.</param>
/// <param name="Error">Why the last attempt failed, in words fit to show whoever asks.</param>
/// <param name="ErrorCode">
/// Why the last attempt failed, as a stable code (e.g. <c>username_taken</c>); null if there is none (and for writes
/// failed by a version without codes).
/// </param>
public sealed record QueuedWrite(string Id, string Kind, JsonElement Payload, long EnqueuedAt, int Attempts = 0, string? Error = null, string? ErrorCode = null)
{
    /// <summary>The exact bytes the queue holds, which removal from a list matches on.</summary>
    [JsonIgnore]
    internal string Raw { get; init; } = "";

    internal string Serialize() => JsonSerializer.Serialize(this, WriteBehindJson.Default.QueuedWrite);

    internal static QueuedWrite Parse(string raw) => JsonSerializer.Deserialize(raw, WriteBehindJson.Default.QueuedWrite)! with { Raw = raw };
}

/// <summary>
/// Where a queued write stands: what whoever asks needs, and no more. The queue holds the write itself; a status is
/// kept for <see cref="WriteBehindOptions.StatusRetention"/> after its last change, so it stays small: the payload as
/// accepted, the attempts, and the outcome (absent fields are not stored).
/// </summary>
/// <param name="State"><c>pending</c>, <c>done</c> or <c>failed</c>.</param>
/// <param name="Payload">The write as accepted (readable at once, before it is applied).</param>
/// <param name="Attempts">How many attempts failed.</param>
/// <param name="Result">What applying it produced (for a created row: its id), once done.</param>
/// <param name="Error">Why it failed once failed, or why the last attempt failed while pending; fit to show whoever asks.</param>
/// <param name="ErrorCode">The same as a stable code (e.g. <c>username_taken</c>); null if there is none.</param>
public sealed record WriteStatus(
    string State,
    JsonElement Payload,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] int Attempts = 0,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Result = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ErrorCode = null)
{
    /// <summary>Accepted, not yet applied.</summary>
    public const string Pending = "pending";

    /// <summary>Applied.</summary>
    public const string Done = "done";

    /// <summary>Given up on: in the dead-letter list.</summary>
    public const string Failed = "failed";

    /// <summary>The status of <paramref name="write"/> in <paramref name="state"/>, with its attempts and, unless done, its last error.</summary>
    internal static WriteStatus Of(string state, QueuedWrite write, string? result = null) => state == Done
        ? new(state, write.Payload, write.Attempts, result)
        : new(state, write.Payload, write.Attempts, result, write.Error, write.ErrorCode);

    internal string Serialize() => JsonSerializer.Serialize(this, WriteBehindJson.Default.WriteStatus);

    internal static WriteStatus Parse(string raw)
    {
        var status = JsonSerializer.Deserialize(raw, WriteBehindJson.Default.WriteStatus)!;
        if (status.Payload.ValueKind != JsonValueKind.Undefined)
            return status;
        // Written by a version that kept the whole write in its statuses: such a status lives out its retention.
        using var document = JsonDocument.Parse(raw);
        if (!document.RootElement.TryGetProperty("write", out var kept))
            return status;
        var write = QueuedWrite.Parse(kept.GetRawText());
        return status with { Payload = write.Payload, Attempts = write.Attempts, ErrorCode = status.ErrorCode ?? write.ErrorCode };
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(QueuedWrite))]
[JsonSerializable(typeof(WriteStatus))]
internal sealed partial class WriteBehindJson : JsonSerializerContext;
