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
    private Hold? _hold;
    private Task _lastSent = Task.CompletedTask;
    private Func<string, object?[], bool>? _failAfter;

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

    /// <summary>
    /// Holds the reply of the next database call that <paramref name="match"/> picks (by method name and arguments): the
    /// call runs at once, and its caller sees the answer only once the test releases it. Reached when the answer is in.
    /// </summary>
    public (Task Reached, TaskCompletionSource Release) HoldReply(Func<string, object?[], bool> match)
    {
        var hold = new Hold(match);
        Volatile.Write(ref _hold, hold);
        return (hold.Reached.Task, hold.Release);
    }

    /// <summary>
    /// From the database call after the next one that <paramref name="match"/> picks, every call fails with
    /// <see cref="Error"/> (<see cref="Fault"/> becomes <see cref="RedisFault.Throw"/>): a connection lost between two
    /// steps of an operation. Setting <see cref="Fault"/> back to <see cref="RedisFault.None"/> restores it.
    /// </summary>
    public void FailAfter(Func<string, object?[], bool> match) => Volatile.Write(ref _failAfter, match);

    /// <summary>Whether a call is <see cref="IDatabaseAsync.ScriptEvaluateAsync(string, RedisKey[], RedisValue[], CommandFlags)"/> of <paramref name="script"/>.</summary>
    public static bool IsScript(string method, object?[] args, string script) =>
        method == nameof(IDatabaseAsync.ScriptEvaluateAsync) && args.Length > 0 && args[0] is string text && text == script;

    private object? Intercept(MethodInfo method, object?[] args, Func<object?> call)
    {
        Sent.Enqueue(method.Name);
        var fault = Fault;
        if (Volatile.Read(ref _failAfter) is { } after && after(method.Name, args) && Interlocked.CompareExchange(ref _failAfter, null, after) == after)
            Fault = RedisFault.Throw;
        if (Volatile.Read(ref _hold) is { } hold && hold.Match(method.Name, args) && IsTask(method) && Interlocked.CompareExchange(ref _hold, null, hold) == hold)
            return Invoke(nameof(HeldAsync), method, this, [call, hold]);
        if (fault == RedisFault.None || !IsTask(method))
            return call();
        Interlocked.Increment(ref _calls);
        return fault == RedisFault.Throw ? Invoke(nameof(Faulted), method, null, [Error]) : Invoke(nameof(LateAsync), method, this, [call]);
    }

    private static bool IsTask(MethodInfo method) => method.ReturnType.IsGenericType && method.ReturnType.GetGenericTypeDefinition() == typeof(Task<>);

    /// <summary>Calls one of the generic helpers below for the method's result type.</summary>
    private static object? Invoke(string helper, MethodInfo method, ChaosRedis? self, object?[] args) =>
        typeof(ChaosRedis).GetMethod(helper, BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance)!.MakeGenericMethod(method.ReturnType.GetGenericArguments()[0]).Invoke(self, args);

    private static async Task<T> HeldAsync<T>(Func<object?> call, Hold hold)
    {
        var answer = await ((Task<T>)call()!).ConfigureAwait(false);
        hold.Reached.SetResult();
        await hold.Release.Task.ConfigureAwait(false);
        return answer;
    }

    private static Task<T> Faulted<T>(Exception error) => Task.FromException<T>(error);

    /// <summary>
    /// A call sent into the hang: sent once the hang ends, after the calls hung before it, as a stopped server runs the
    /// commands queued on its socket in the order they came.
    /// </summary>
    private async Task<T> LateAsync<T>(Func<object?> call)
    {
        Interlocked.Increment(ref _hung);
        var sent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var before = Interlocked.Exchange(ref _lastSent, sent.Task);
        await _resumed.Task.ConfigureAwait(false);
        await before.ConfigureAwait(false);
        try
        {
            Task<T> late;
            try
            {
                late = (Task<T>)call()!;
            }
            finally
            {
                sent.TrySetResult();
            }

            return await late.ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _hung);
        }
    }

    private sealed class Hold(Func<string, object?[], bool> match)
    {
        public Func<string, object?[], bool> Match { get; } = match;

        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
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
            return typeof(T) == typeof(IDatabase) ? _chaos.Intercept(targetMethod, args ?? [], Call) : Call();
        }
    }
}
