namespace CacheFlow;

/// <summary>
/// The outcome of a cache read and the value as response-ready UTF-8 JSON, so a hit can be
/// written to an HTTP response without being deserialized and serialized again.
/// </summary>
/// <param name="Outcome">Where the value came from.</param>
/// <param name="Json">The value serialized as UTF-8 JSON (<c>null</c> for a null value).</param>
/// <param name="IsNull">Whether the value is null (for example: no such row).</param>
public readonly record struct CacheResult(CacheOutcome Outcome, ReadOnlyMemory<byte> Json, bool IsNull)
{
    /// <summary>Whether a hit came from the in-process L1 rather than Redis.</summary>
    public bool FromLocal { get; init; }

    /// <summary>
    /// The value the factory made, when a typed load of an immutable type produced these bytes: its callers get that
    /// instance rather than a copy deserialized from <see cref="Json"/>.
    /// </summary>
    internal object? Value { get; init; }
}

/// <summary>The outcome of a typed cache read and its value.</summary>
/// <typeparam name="T">The type of the value.</typeparam>
/// <param name="Outcome">Where the value came from.</param>
/// <param name="Value">The value.</param>
public readonly record struct CacheResult<T>(CacheOutcome Outcome, T Value);
