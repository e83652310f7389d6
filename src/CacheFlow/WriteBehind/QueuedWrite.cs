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

/// <summary>Where a queued write stands.</summary>
/// <param name="State"><c>pending</c>, <c>done</c> or <c>failed</c>.</param>
/// <param name="Write">The write as accepted (readable at once, before it is applied).</param>
/// <param name="Result">What applying it produced (for a created row: its id), once done.</param>
/// <param name="Error">Why it failed, once failed.</param>
/// <param name="ErrorCode">Why it failed as a stable code, once failed; null if there is none.</param>
public sealed record WriteStatus(string State, QueuedWrite Write, string? Result = null, string? Error = null, string? ErrorCode = null)
{
    /// <summary>Accepted, not yet applied.</summary>
    public const string Pending = "pending";

    /// <summary>Applied.</summary>
    public const string Done = "done";

    /// <summary>Given up on: in the dead-letter list.</summary>
    public const string Failed = "failed";
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(QueuedWrite))]
[JsonSerializable(typeof(WriteStatus))]
internal sealed partial class WriteBehindJson : JsonSerializerContext;
