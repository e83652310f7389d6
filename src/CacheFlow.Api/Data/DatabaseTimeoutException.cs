namespace CacheFlow.Api.Data;

/// <summary>
/// The database did not answer a call within its budget (<see cref="DatabaseOptions.Timeout"/>): a lock held
/// elsewhere, no free connection, a server that does not answer. A <see cref="TimeoutException"/>, so it is an outage
/// to <see cref="DatabaseFailure"/>, not a request abort.
/// </summary>
/// <param name="budget">The budget that ran out.</param>
/// <param name="innerException">What the database client threw when the call was cancelled.</param>
public sealed class DatabaseTimeoutException(TimeSpan budget, Exception innerException)
    : TimeoutException($"The database did not answer within the budget of {budget.TotalMilliseconds:0} ms.", innerException);
