using CacheFlow.Api.Data;

namespace CacheFlow.Api.WriteBehind;

/// <summary>
/// Why a queued write failed, as shown to anyone who asks for its status and in the dead letters: a stable code and a
/// message written here, never the database's own text (which the log keeps).
/// </summary>
/// <param name="Code">A stable code, e.g. <c>username_taken</c>.</param>
/// <param name="Message">One sentence for a person.</param>
internal sealed record WriteError(string Code, string Message)
{
    /// <summary>The kind of write is not one this version applies.</summary>
    public static WriteError UnknownWrite { get; } = new("unknown_write", "This kind of write is not one this version applies.");

    /// <summary>The database did not answer (down, unreachable, timed out): retried.</summary>
    public static WriteError DatabaseUnavailable { get; } = new("database_unavailable", "The database did not answer in time.");

    /// <summary>The batch failed for another reason: retried.</summary>
    public static WriteError ApplyFailed { get; } = new("apply_failed", "The database failed to apply the write.");

    /// <summary>The database refused a value of the write (too long, a character it cannot store, a rule).</summary>
    public static WriteError Refused { get; } = new("invalid_value", "The database refused a value of this write.");

    /// <summary>Another user has the value of <paramref name="field"/> (<c>username</c> or <c>email</c>).</summary>
    public static WriteError Taken(string field) => new($"{field}_taken", $"Another user already has this {field}.");

    /// <summary>A field fails the rules of <see cref="Users.UserValidation"/> (a write queued by an older version).</summary>
    public static WriteError Invalid(string field, string rule) => new("invalid_value", $"The {field} is not valid. {rule}");

    /// <summary>The error for a failure of the whole batch.</summary>
    public static WriteError ForBatch(Exception exception) => DatabaseFailure.IsUnavailable(exception) ? DatabaseUnavailable : ApplyFailed;
}
