using Microsoft.Data.Sqlite;

namespace CacheFlow.Api.Tests;

/// <summary>
/// Reads an embedded API's SQLite file directly, bypassing the API and its cache. The connection may write: after
/// a killed writer, SQLite rolls its journal back on open.
/// </summary>
public static class UsersDatabaseFile
{
    /// <summary>Counts the users whose username starts with <paramref name="prefix"/> in the data folder's database.</summary>
    public static async Task<long> CountAsync(DirectoryInfo data, string prefix)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(data.FullName, "users.db")};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM users WHERE username LIKE $prefix || '%'";
        command.Parameters.AddWithValue("$prefix", prefix);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
