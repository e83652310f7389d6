using System.Diagnostics;

namespace CacheFlow.Api.Tests;

/// <summary>Busy threads that keep the machine's cores taken, each for at most a bounded time, until disposed.</summary>
public sealed class CpuHog : IDisposable
{
    private readonly Thread[] _threads;
    private volatile bool _stopped;

    private CpuHog(int threads, TimeSpan longest)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(longest.TotalSeconds * Stopwatch.Frequency);
        _threads = [.. Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            var spun = 0L;
            while (!_stopped && Stopwatch.GetTimestamp() < deadline)
                spun += Random.Shared.Next(2);
            GC.KeepAlive(spun);
        }) { IsBackground = true, Name = "cpu hog" })];
        foreach (var thread in _threads)
            thread.Start();
    }

    /// <summary>Starts <paramref name="threads"/> busy threads, each stopping after <paramref name="longest"/> at most.</summary>
    public static CpuHog Start(int threads, TimeSpan longest) => new(threads, longest);

    public void Dispose()
    {
        _stopped = true;
        foreach (var thread in _threads)
            thread.Join();
    }
}
