using CacheFlow.Garnet;
using CacheFlow.Testing;
using StackExchange.Redis;

namespace CacheFlow.Api.Tests;

/// <summary>
/// The embedded Garnet runs a Lua script as one step, as Redis does: no other client's command lands between the
/// script's commands. Every compare-and-set script of the cache (a lease's write-back, an update in place, a release)
/// depends on it. A script reads a counter, spins, and writes the counter plus one, fifty times, while another
/// connection increments the same counter: none of the increments is lost, in any of five rounds. The control starts
/// the same server without <c>--lua-transaction-mode</c> (Garnet's default): increments that land during a script's
/// spin are overwritten by its write, in the first round or one of the next four.
/// </summary>
public sealed class EmbeddedGarnetScriptTests
{
    private const int Scripts = 50;

    // Rounds of the scripts: every one must lose nothing; without the option, one must lose an increment. (In one CI run
    // a single round of shorter scripts, 68 ms in all, lost nothing without the option: the incrementer's commands
    // happened to run only between scripts.)
    private const int Rounds = 5;

    // Several milliseconds of Lua between the script's read and its write.
    private const int Spin = 1_000_000;

    private const string ReadSpinWrite = """
        local value = tonumber(redis.call('GET', KEYS[1]) or '0')
        for i = 1, tonumber(ARGV[1]) do end
        redis.call('SET', KEYS[1], value + 1)
        return value
        """;

    [Fact]
    public async Task NoCommandOfAnotherClientLandsBetweenAScriptsReadAndItsWrite()
    {
        var directory = Directory.CreateTempSubdirectory("cacheflow-garnet-script-");
        try
        {
            using var garnet = EmbeddedGarnet.Start(directory.FullName);
            for (var round = 0; round < Rounds; round++)
            {
                var (increments, counter) = await RaceAsync(garnet.Port, round);

                Assert.True(increments > 0, "no increment ran while the scripts did");
                Assert.Equal(Scripts + increments, counter);
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task ControlWithoutLuaTransactionModeIncrementsLandBetweenAndAreLost()
    {
        var port = ServerProcess.FreeLoopbackPort();
        using var server = EmbeddedGarnet.StartServer(EmbeddedGarnet.CacheArguments(port).Where(a => a != "--lua-transaction-mode"));
        var rounds = new List<string>();
        for (var round = 0; round < Rounds; round++)
        {
            var (increments, counter) = await RaceAsync(port, round);
            rounds.Add($"{increments} increments, counter {counter}");
            if (counter < Scripts + increments)
                return;
        }

        Assert.Fail($"no increment was lost in {Rounds} rounds: {string.Join("; ", rounds)}");
    }

    /// <summary>Runs the scripts on one connection while another increments the counter until they are done; returns the increments and the counter.</summary>
    private static async Task<(long Increments, long Counter)> RaceAsync(int port, int round)
    {
        await using var scripts = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port}");
        await using var incrementer = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port}");
        RedisKey key = $"counter:{round}";
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var incrementing = Task.Run(async () =>
        {
            long increments = 0;
            var db = incrementer.GetDatabase();
            // Bounded: a server that serialized everything would still end the loop with the scripts.
            while (!done.Task.IsCompleted && increments < 1_000_000)
            {
                await db.StringIncrementAsync(key);
                increments++;
                started.TrySetResult();
            }

            return increments;
        });

        // The scripts start once the increments run.
        await started.Task.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        var db = scripts.GetDatabase();
        for (var i = 0; i < Scripts; i++)
            await db.ScriptEvaluateAsync(ReadSpinWrite, [key], [Spin]);
        done.SetResult();
        var total = await incrementing;
        var counter = (long)await db.StringGetAsync(key);
        TestContext.Current.TestOutputHelper?.WriteLine($"{Scripts} scripts and {total:N0} increments: counter {counter:N0} ({Scripts + total - counter:N0} lost)");
        return (total, counter);
    }
}
