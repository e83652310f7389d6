namespace CacheFlow.Api.Redis;

/// <summary>What one primary said of the settings that decide whether it keeps durable data.</summary>
/// <param name="Endpoint">Its address.</param>
/// <param name="Server"><c>redis</c> or <c>garnet</c> (null when it answered nothing: see <see cref="Refused"/>).</param>
/// <param name="Version">Its version.</param>
internal sealed record DurableServerSettings(string Endpoint, string? Server, string? Version)
{
    /// <summary>Redis's <c>maxmemory</c> in bytes (0: no limit).</summary>
    public long? MaxMemory { get; init; }

    /// <summary>Redis's <c>maxmemory-policy</c>.</summary>
    public string? MaxMemoryPolicy { get; init; }

    /// <summary><c>appendonly</c> (Garnet answers it too: <c>yes</c> with <c>--aof</c>).</summary>
    public string? AppendOnly { get; init; }

    /// <summary>Redis's <c>appendfsync</c> (reported, not judged).</summary>
    public string? AppendFsync { get; init; }

    /// <summary>Garnet's storage-tier directory (INFO store's <c>LogDir</c>), empty without <c>--storage-tier</c>.</summary>
    public string? StorageTier { get; init; }

    /// <summary>Why it told nothing: CONFIG (or INFO) refused, renamed, or not permitted.</summary>
    public string? Refused { get; init; }

    /// <summary>Whether this is Garnet.</summary>
    public bool IsGarnet => Server == "garnet";
}
