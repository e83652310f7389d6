using Npgsql;

namespace CacheFlow.Testing;

/// <summary>
/// A throwaway PostgreSQL cluster (initdb + pg_ctl into a temp folder, as the postgres user when running as root)
/// on a free loopback port, durability off for speed, stopped and deleted on dispose.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _directory;
    private readonly string? _user;

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
        var data = Path.Combine(directory, "data");
        await ServerProcess.RunAsync(Path.Combine(bin, "initdb"), ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"], user);
        await ServerProcess.RunAsync(Path.Combine(bin, "pg_ctl"),
            ["-D", data, "-l", Path.Combine(directory, "log"), "-w", "-t", "30", "-o",
             $"-p {port} -h 127.0.0.1 -k {directory} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
             "start"], user);
        return server;
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
        await ServerProcess.RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", Path.Combine(_directory, "data"), "-m", "immediate", "-w", "stop"], _user);
        Directory.Delete(_directory, recursive: true);
    }
}
