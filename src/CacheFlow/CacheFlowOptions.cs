using System.ComponentModel.DataAnnotations;
using System.Text.Json;

namespace CacheFlow;

/// <summary>Options of the CacheFlow cache.</summary>
public sealed class CacheFlowOptions
{
    /// <summary>
    /// The prefix of every Redis key the cache writes, so several applications can share one Redis.
    /// It may not contain <c>{</c> or <c>}</c>: the cache puts the key in braces to choose its cluster hash slot.
    /// </summary>
    /// <value>The default value is <c>cf:</c>.</value>
    [Required(AllowEmptyStrings = true)]
    [RegularExpression("^[^{}]*$", ErrorMessage = "The key prefix may not contain '{' or '}'.")]
    public string KeyPrefix { get; set; } = "cf:";

    /// <summary>The time to live of entries whose <see cref="CacheEntryOptions.Duration"/> is not set.</summary>
    /// <value>The default value is 5 minutes.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "365.00:00:00")]
    public TimeSpan DefaultDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How values are serialized. Use the same options as the HTTP responses (naming policy, source-generated
    /// contexts) so that a cached value is the response body, ready to write.
    /// </summary>
    /// <value>The default value is <see cref="JsonSerializerOptions.Web"/>.</value>
    [Required]
    public JsonSerializerOptions SerializerOptions { get; set; } = JsonSerializerOptions.Web;

    /// <summary>How many keys one SCAN call asks for when removing by prefix.</summary>
    /// <value>The default value is 500.</value>
    [Range(10, 100_000)]
    public int ScanPageSize { get; set; } = 500;
}
