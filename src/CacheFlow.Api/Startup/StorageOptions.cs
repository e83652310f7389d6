using System.ComponentModel.DataAnnotations;

namespace CacheFlow.Api.Startup;

/// <summary>Where the embedded servers keep their data (configuration section <c>Storage</c>).</summary>
public sealed class StorageOptions
{
    /// <summary>The data folder of the SQLite file and the embedded Garnet, relative to the content root.</summary>
    /// <value>The default value is <c>./data</c>.</value>
    [Required]
    public string DataDirectory { get; set; } = "./data";

    /// <summary>How many demo users an empty database is seeded with.</summary>
    /// <value>The default value is 10,000.</value>
    [Range(0, 10_000_000)]
    public int SeedUsers { get; set; } = 10_000;
}
