using Npgsql;

namespace CacheFlow.Testing;

/// <summary>
/// A throwaway PostgreSQL cluster (initdb + pg_ctl into a temp folder, as the postgres user when running as root)
/// on a free loopback port, durability off for speed, stopped and deleted on dispose. A test can stop it and start it
/// again on the same port and data.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _directory;
    private readonly string? _user;
    private bool _running;

    private PostgresServer(string bin, string directory, string? user, int port)
    {
        _bin = bin;
        _directory = directory;
        _user = user;
        AdminConnectionString = $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Pooling=false";
        Port = port;
    }

    public int Port { get; }

    public string AdminConnectionString { get; }

    private string DataDirectory => Path.Combine(_directory, "data");

    /// <summary>The folder with initdb and pg_ctl: Debian's /usr/lib/postgresql/N/bin (newest N), or one on PATH.</summary>
    public static string? BinDirectory =>
        (Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var v) ? v : 0)
                .Select(d => Path.Combine(d, "bin")).FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")))
            : null)
        ?? (ServerProcess.FindOnPath("initdb") is { } initdb ? Path.GetDirectoryName(initdb) : null);

    public static async Task<PostgresServer> StartAsync()
    {
        var bin = BinDirectory ?? throw new InvalidOperationException("PostgreSQL binaries not found");
        var directory = Directory.CreateTempSubdirectory("cacheflow-pg-").FullName;
        var user = ServerProcess.IsRoot ? "postgres" : null;
        if (user is not null)
            await ServerProcess.RunAsync("chown", [user, directory]);
        var port = ServerProcess.FreeLoopbackPort();
        var server = new PostgresServer(bin, directory, user, port);
        await ServerProcess.RunAsync(Path.Combine(bin, "initdb"), ["-D", server.DataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"], user);
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>Stops the server as a crash would (<c>pg_ctl stop -m immediate</c>): connections drop, and the next start recovers from the WAL.</summary>
    public async Task StopAsync()
    {
        await PgCtlAsync("-m", "immediate", "-w", "stop");
        _running = false;
    }

    /// <summary>Starts the server (again) on the same port and data folder, and waits until it takes connections.</summary>
    public async Task StartAgainAsync()
    {
        // fsync=off alone keeps every acknowledged commit through StopAsync (the OS does not crash, only PostgreSQL);
        // synchronous_commit=off would not: a commit is acknowledged before its WAL is written, and an immediate stop
        // loses the last ones.
        await PgCtlAsync("-l", Path.Combine(_directory, "log"), "-w", "-t", "30", "-o",
            $"-p {Port} -h 127.0.0.1 -k {_directory} -c fsync=off -c full_page_writes=off -c max_connections=200",
            "start");
        _running = true;
    }

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync();
        return $"Host=127.0.0.1;Port={Port};Username=postgres;Database={name}";
    }

    public async ValueTask DisposeAsync()
    {
        if (_running)
            await StopAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private Task PgCtlAsync(params string[] arguments) =>
        ServerProcess.RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", DataDirectory, .. arguments], _user);
}
