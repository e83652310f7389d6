using System.Diagnostics;

namespace CacheFlow.Tracing;

/// <summary>CacheFlow's spans (<see cref="CacheFlowActivitySource"/> documents them): their names, attributes and how each starts.</summary>
internal static class CacheActivities
{
    public const string Miss = "cacheflow miss";
    public const string Bypass = "cacheflow bypass";
    public const string Load = "cacheflow load";
    public const string LeaseWait = "cacheflow lease wait";
    public const string Commit = "cacheflow commit";
    public const string Invalidate = "cacheflow invalidate";

    public const string Family = "cacheflow.key.family";
    public const string CacheName = "cacheflow.cache.name";
    public const string Outcome = "cacheflow.outcome";
    public const string BypassReason = "cacheflow.bypass.reason";
    public const string BatchSize = "cacheflow.batch.size";
    public const string LeaseResult = "cacheflow.lease.result";
    public const string CommitResult = "cacheflow.commit.result";
    public const string InvalidationKind = "cacheflow.invalidation.kind";
    public const string InvalidationRemoved = "cacheflow.invalidation.removed";
    public const string InvalidationPending = "cacheflow.invalidation.pending";
    public const string InvalidationRetry = "cacheflow.invalidation.retry";

    /// <summary>OpenTelemetry's attribute for the class of an error.</summary>
    public const string ErrorType = "error.type";

    public static readonly ActivitySource Source = new(CacheFlowActivitySource.Name, typeof(CacheActivities).Assembly.GetName().Version?.ToString());

    /// <summary>Whether anyone listens: when not, callers skip even the code that would start a span.</summary>
    public static bool Enabled => Source.HasListeners();

    /// <summary>Starts a span of a cache of <paramref name="options"/> for a key of <paramref name="family"/> (null: none); null when no one listens.</summary>
    public static Activity? Start(string name, CacheFlowOptions options, string? family)
    {
        var activity = Source.StartActivity(name, ActivityKind.Internal);
        if (activity is { IsAllDataRequested: true })
        {
            if (family is not null)
                activity.SetTag(Family, family);
            if (options.Name is { } cache)
                activity.SetTag(CacheName, cache);
        }

        return activity;
    }

    /// <summary>Marks a span failed by <paramref name="exception"/>.</summary>
    public static void Fail(Activity? activity, Exception exception)
    {
        if (activity is null)
            return;
        activity.SetStatus(ActivityStatusCode.Error, exception.Message);
        activity.SetTag(ErrorType, exception.GetType().FullName);
    }

    /// <summary>The value of <see cref="Outcome"/>.</summary>
    public static string OutcomeName(CacheOutcome outcome) => outcome switch
    {
        CacheOutcome.Hit => "hit",
        CacheOutcome.Miss => "miss",
        CacheOutcome.Stale => "stale",
        _ => "bypass",
    };
}
