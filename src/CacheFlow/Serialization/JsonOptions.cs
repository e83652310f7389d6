using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace CacheFlow.Serialization;

/// <summary>Makes JSON options read-only, as a first serialization would, without racing anyone else who uses them.</summary>
internal static class JsonOptions
{
    /// <summary>
    /// Makes <paramref name="options"/> read-only and returns them. Options without a resolver get the reflection-based
    /// one, as a first serialization would give them, only where reflection-based serialization is enabled: in a
    /// trimmed or native AOT application they must name a context. The cache calls this once, when it is made: the
    /// options may be shared (the API's HTTP options), and setting a resolver on options that another thread has just
    /// used throws; if another user of the options froze them first, they are taken as they are. Options that cannot
    /// be frozen (no resolver, no reflection) are left as they are when <paramref name="required"/> is false (a cache
    /// that stores only strings and byte arrays needs no JSON), and refused when it is true.
    /// </summary>
    public static JsonSerializerOptions Freeze(JsonSerializerOptions options, bool required = true)
    {
        if (options.IsReadOnly)
            return options;
        if (options.TypeInfoResolver is null && !JsonSerializer.IsReflectionEnabledByDefault)
        {
            if (!required)
                return options;
            throw new InvalidOperationException(
                $"{nameof(CacheFlowOptions)}.{nameof(CacheFlowOptions.SerializerOptions)} has no TypeInfoResolver and reflection-based JSON is off " +
                "(a trimmed or native AOT application): set one, a JsonSerializerContext that covers the cached types.");
        }

        try
        {
            MakeReadOnly(options);
        }
        catch (InvalidOperationException) when (options.IsReadOnly)
        {
            // Another user of the options made them read-only between the check and ours.
        }

        return options;
    }

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "A missing resolver is populated only where JsonSerializer.IsReflectionEnabledByDefault (checked above), which trimming turns off.")]
    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "A missing resolver is populated only where JsonSerializer.IsReflectionEnabledByDefault (checked above), which native AOT turns off.")]
    private static void MakeReadOnly(JsonSerializerOptions options) => options.MakeReadOnly(populateMissingResolver: true);
}
