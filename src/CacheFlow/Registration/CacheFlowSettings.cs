using Microsoft.Extensions.Configuration;

namespace CacheFlow.Registration;

/// <summary>
/// What a configuration section can set of <see cref="CacheFlowOptions"/>: every option but
/// <see cref="CacheFlowOptions.SerializerOptions"/> (an object, set in code), each null when the section leaves it out.
/// The configuration binding source generator binds this type without reflection, as it could not bind the options
/// themselves (it would try to bind the serializer options' members too).
/// </summary>
internal sealed class CacheFlowSettings
{
    public string? Configuration { get; set; }

    public string? KeyPrefix { get; set; }

    public TimeSpan? DefaultDuration { get; set; }

    public TimeSpan? DefaultStaleDuration { get; set; }

    public TimeSpan? DefaultNullDuration { get; set; }

    public double? JitterPercent { get; set; }

    public double? EarlyRefreshBeta { get; set; }

    public TimeSpan? LeaseDuration { get; set; }

    public TimeSpan? FailSafeThrottleDuration { get; set; }

    public TimeSpan? CircuitBreakDuration { get; set; }

    public int? CircuitBreakerConsecutiveFailures { get; set; }

    public TimeSpan? RedisTimeout { get; set; }

    public TimeSpan? DurableRedisTimeout { get; set; }

    public TimeSpan? InvalidationRetryInterval { get; set; }

    public int? CircuitBreakerMinimumThroughput { get; set; }

    public int? ScanPageSize { get; set; }

    public bool? LocalCacheEnabled { get; set; }

    public TimeSpan? LocalMaxAge { get; set; }

    public int? LocalSizeLimit { get; set; }

    public long? LocalSizeLimitBytes { get; set; }

    public bool? LocalFrequencyAdmission { get; set; }

    public int? MaxKeyFamilies { get; set; }

    public List<string>? KeyFamilies { get; set; }

    /// <summary>Sets on <paramref name="options"/> what <paramref name="section"/> holds, leaving the rest as it is.</summary>
    public static void Bind(IConfiguration section, CacheFlowOptions options)
    {
        var settings = new CacheFlowSettings();
        section.Bind(settings);
        if (settings.Configuration is { } configuration)
            options.Configuration = configuration;
        if (settings.KeyPrefix is { } keyPrefix)
            options.KeyPrefix = keyPrefix;
        if (settings.DefaultDuration is { } defaultDuration)
            options.DefaultDuration = defaultDuration;
        if (settings.DefaultStaleDuration is { } defaultStaleDuration)
            options.DefaultStaleDuration = defaultStaleDuration;
        if (settings.DefaultNullDuration is { } defaultNullDuration)
            options.DefaultNullDuration = defaultNullDuration;
        if (settings.JitterPercent is { } jitterPercent)
            options.JitterPercent = jitterPercent;
        if (settings.EarlyRefreshBeta is { } earlyRefreshBeta)
            options.EarlyRefreshBeta = earlyRefreshBeta;
        if (settings.LeaseDuration is { } leaseDuration)
            options.LeaseDuration = leaseDuration;
        if (settings.FailSafeThrottleDuration is { } failSafeThrottleDuration)
            options.FailSafeThrottleDuration = failSafeThrottleDuration;
        if (settings.CircuitBreakDuration is { } circuitBreakDuration)
            options.CircuitBreakDuration = circuitBreakDuration;
        if (settings.CircuitBreakerConsecutiveFailures is { } circuitBreakerConsecutiveFailures)
            options.CircuitBreakerConsecutiveFailures = circuitBreakerConsecutiveFailures;
        if (settings.RedisTimeout is { } redisTimeout)
            options.RedisTimeout = redisTimeout;
        if (settings.DurableRedisTimeout is { } durableRedisTimeout)
            options.DurableRedisTimeout = durableRedisTimeout;
        if (settings.InvalidationRetryInterval is { } invalidationRetryInterval)
            options.InvalidationRetryInterval = invalidationRetryInterval;
        if (settings.CircuitBreakerMinimumThroughput is { } circuitBreakerMinimumThroughput)
            options.CircuitBreakerMinimumThroughput = circuitBreakerMinimumThroughput;
        if (settings.ScanPageSize is { } scanPageSize)
            options.ScanPageSize = scanPageSize;
        if (settings.LocalCacheEnabled is { } localCacheEnabled)
            options.LocalCacheEnabled = localCacheEnabled;
        if (settings.LocalMaxAge is { } localMaxAge)
            options.LocalMaxAge = localMaxAge;
        if (settings.LocalSizeLimit is { } localSizeLimit)
            options.LocalSizeLimit = localSizeLimit;
        if (settings.LocalSizeLimitBytes is { } localSizeLimitBytes)
            options.LocalSizeLimitBytes = localSizeLimitBytes;
        if (settings.LocalFrequencyAdmission is { } localFrequencyAdmission)
            options.LocalFrequencyAdmission = localFrequencyAdmission;
        if (settings.MaxKeyFamilies is { } maxKeyFamilies)
            options.MaxKeyFamilies = maxKeyFamilies;
        if (settings.KeyFamilies is { } keyFamilies)
            options.KeyFamilies = keyFamilies;
    }
}
