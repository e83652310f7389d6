using System.Collections.Concurrent;
using System.Reflection;
using StackExchange.Redis;

namespace CacheFlow.Tests;

/// <summary>What a <see cref="ChaosRedis"/> connection does to the database calls made through it.</summary>
public enum RedisFault
{
    /// <summary>Calls go through.</summary>
    None,

    /// <summary>Calls fail at once with the exception in <see cref="ChaosRedis.Error"/>.</summary>
    Throw,

    /// <summary>
    /// Calls wait until <see cref="ChaosRedis.Resume"/>, then go through: a stopped server (<c>kill -STOP</c>) keeps
    /// its sockets open, so a command sent during the stall is carried out late, after its caller gave up on it.
    /// </summary>
    Hang,
}

/// <summary>
/// A fault-injecting connection over a real one (FusionCache's chaos components are the model): the database calls
/// made through it throw, or hang and run late, as the test says. Built with <see cref="DispatchProxy"/>, so every
/// member of <see cref="IConnectionMultiplexer"/> and <see cref="IDatabase"/> forwards without being written out.
/// </summary>
public sealed class ChaosRedis
{
    private TaskCompletionSource _resumed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _calls;
    private int _hung;

    private ChaosRedis(IConnectionMultiplexer inner) => Connection = Proxy<IConnectionMultiplexer>.Create(inner, this);

    /// <summary>The connection to hand to the code under test.</summary>
    public IConnectionMultiplexer Connection { get; }

    /// <summary>What database calls do now.</summary>
    public RedisFault Fault { get; set; }

    /// <summary>What <see cref="RedisFault.Throw"/> throws.</summary>
    public Exception Error { get; set; } = new RedisConnectionException(ConnectionFailureType.SocketFailure, CommandFlags.None, "chaos: connection lost");

    /// <summary>Database calls made while a fault was set (each one either threw or hung).</summary>
    public int FaultedCalls => Volatile.Read(ref _calls);

    /// <summary>Calls hung and not yet carried out.</summary>
    public int Hung => Volatile.Read(ref _hung);

    public static ChaosRedis Over(IConnectionMultiplexer inner) => new(inner);

    /// <summary>Ends a hang: calls go through again, and the hung ones are carried out now, late.</summary>
    public void Resume()
    {
        Fault = RedisFault.None;
        Interlocked.Exchange(ref _resumed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).SetResult();
    }

    /// <summary>The names of the database calls made through the connection, in order (<c>StringGetAsync</c>, <c>ScriptEvaluateAsync</c>…).</summary>
    public ConcurrentQueue<string> Sent { get; } = new();

    private object? Intercept(MethodInfo method, Func<object?> call)
    {
        Sent.Enqueue(method.Name);
        var fault = Fault;
        if (fault == RedisFault.None || !method.ReturnType.IsGenericType || method.ReturnType.GetGenericTypeDefinition() != typeof(Task<>))
            return call();
        Interlocked.Increment(ref _calls);
        var result = method.ReturnType.GetGenericArguments()[0];
        return fault == RedisFault.Throw
            ? typeof(ChaosRedis).GetMethod(nameof(Faulted), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(result).Invoke(null, [Error])
            : typeof(ChaosRedis).GetMethod(nameof(LateAsync), BindingFlags.NonPublic | BindingFlags.Instance)!.MakeGenericMethod(result).Invoke(this, [call]);
    }

    private static Task<T> Faulted<T>(Exception error) => Task.FromException<T>(error);

    private async Task<T> LateAsync<T>(Func<object?> call)
    {
        Interlocked.Increment(ref _hung);
        await _resumed.Task.ConfigureAwait(false);
        try
        {
            return await ((Task<T>)call()!).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _hung);
        }
    }

    /// <summary>Forwards every call to the real object; database calls pass through the chaos first.</summary>
    public class Proxy<T> : DispatchProxy
        where T : class
    {
        private T _inner = null!;
        private ChaosRedis _chaos = null!;

        internal static T Create(T inner, ChaosRedis chaos)
        {
            var proxy = DispatchProxy.Create<T, Proxy<T>>();
            var self = (Proxy<T>)(object)proxy;
            self._inner = inner;
            self._chaos = chaos;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            ArgumentNullException.ThrowIfNull(targetMethod);
            object? Call()
            {
                try
                {
                    return targetMethod.Invoke(_inner, args);
                }
                catch (TargetInvocationException ex) when (ex.InnerException is not null)
                {
                    throw ex.InnerException;
                }
            }

            if (typeof(T) == typeof(IConnectionMultiplexer) && targetMethod.Name == nameof(IConnectionMultiplexer.GetDatabase))
                return Proxy<IDatabase>.Create((IDatabase)Call()!, _chaos);
            return typeof(T) == typeof(IDatabase) ? _chaos.Intercept(targetMethod, Call) : Call();
        }
    }
}
