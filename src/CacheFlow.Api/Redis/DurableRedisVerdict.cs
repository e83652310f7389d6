namespace CacheFlow.Api.Redis;

/// <summary>What a check of the Redis that holds durable data found.</summary>
/// <param name="State">Safe, unsafe, unverified, or not checked.</param>
/// <param name="Summary">What was checked: each primary and its settings, or why nothing was.</param>
/// <param name="Problems">What can lose writes, each with the setting to change; empty when safe.</param>
public sealed record DurableRedisVerdict(DurableRedisState State, string Summary, IReadOnlyList<string> Problems)
{
    /// <summary>Nothing known: Redis has not answered a check since <paramref name="why"/>.</summary>
    internal static DurableRedisVerdict Unchecked(string why) => new(DurableRedisState.Unchecked, why, [why]);
}
