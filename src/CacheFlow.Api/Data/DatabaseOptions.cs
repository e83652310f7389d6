using System.ComponentModel.DataAnnotations;

namespace CacheFlow.Api.Data;

/// <summary>How long a call to the users database may take (configuration section <c>Database</c>).</summary>
public sealed class DatabaseOptions
{
    /// <summary>The default <see cref="Timeout"/>: 3 seconds.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// The budget of one repository call: the wait for a pooled connection, the open and every command of the call.
    /// A call that runs out of it fails with <see cref="DatabaseTimeoutException"/> (a request answers 503 with
    /// Retry-After). PostgreSQL is also told to give up on its side (<c>lock_timeout</c>, <c>statement_timeout</c>), so
    /// a write whose caller was answered 503 is not carried out later; SQLite waits on a lock this long, rounded up to
    /// whole seconds. Migrations and the demo seed at start do not run under it.
    /// </summary>
    /// <value>The default value is 3 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan Timeout { get; set; } = DefaultTimeout;
}
