using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Npgsql;
using StackExchange.Redis;
using static SQLitePCL.raw;

namespace CacheFlow.Api.Data;

/// <summary>
/// The one place that decides whether an exception means the database cannot serve just now (stopped, restarting,
/// unreachable, out of connections, locked, past the call's budget) rather than a bug or a bad request. Such a failure
/// answers 503 with Retry-After, fails readiness, and leaves write-behind's queued writes queued.
/// </summary>
public static class DatabaseFailure
{
    /// <summary>Whether <paramref name="exception"/> (or, for an <see cref="AggregateException"/>, one inside it) says the database is unavailable.</summary>
    public static bool IsUnavailable(Exception exception) => exception switch
    {
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsUnavailable),
        // A PostgreSQL error is judged by its SQL state alone: IsTransient would also take a deadlock or a
        // serialization failure, which are the request's own bad luck, not an outage.
        PostgresException postgres => IsUnavailableState(postgres.SqlState),
        NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is SocketException or IOException or TimeoutException,
        SqliteException sqlite => sqlite.SqliteErrorCode is SQLITE_BUSY or SQLITE_LOCKED or SQLITE_CANTOPEN or SQLITE_IOERR,
        // A Redis timeout is a cache problem, handled where Redis is called.
        RedisTimeoutException => false,
        TimeoutException => true,
        _ => false,
    };

    /// <summary>
    /// Whether <paramref name="exception"/> says the database answers but could not get to the call in time: a lock
    /// held elsewhere, the call's budget run out. The database's state, never the fault of the work that waited.
    /// </summary>
    public static bool IsBusy(Exception exception) => exception switch
    {
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsBusy),
        DatabaseTimeoutException => true,
        PostgresException postgres => postgres.SqlState is PostgresErrorCodes.LockNotAvailable or PostgresErrorCodes.QueryCanceled,
        SqliteException sqlite => sqlite.SqliteErrorCode is SQLITE_BUSY or SQLITE_LOCKED,
        _ => false,
    };

    // 08: connection exceptions; 57P01-57P03: admin shutdown, crash shutdown, cannot connect now (starting up or
    // shutting down); 53300: too many connections; 57014 (a statement cancelled: statement_timeout, or a cancel the
    // budget sent) and 55P03 (lock_timeout): the server gave up waiting within the budget.
    private static bool IsUnavailableState(string sqlState) =>
        sqlState.StartsWith("08", StringComparison.Ordinal)
        || sqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow
            or PostgresErrorCodes.TooManyConnections or PostgresErrorCodes.QueryCanceled or PostgresErrorCodes.LockNotAvailable;
}
