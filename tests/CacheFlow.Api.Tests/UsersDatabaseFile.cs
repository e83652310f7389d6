using Microsoft.Data.Sqlite;

namespace CacheFlow.Api.Tests;

/// <summary>
/// Reads an embedded API's SQLite file directly, bypassing the API and its cache. The connection may write: after
/// a killed writer, SQLite rolls its journal back on open.
/// </summary>
public static class UsersDatabaseFile
{
    /// <summary>Counts the users whose username starts with <paramref name="prefix"/> in the data folder's database.</summary>
    public static Task<long> CountAsync(DirectoryInfo data, string prefix) =>
        ScalarAsync(data, "SELECT COUNT(*) FROM users WHERE username LIKE $value || '%'", prefix);

    /// <summary>A user's login count as the database has it.</summary>
    public static Task<long> LoginCountAsync(DirectoryInfo data, long id) =>
        ScalarAsync(data, "SELECT login_count FROM users WHERE id = $value", id);

    private static async Task<long> ScalarAsync(DirectoryInfo data, string sql, object value)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(data.FullName, "users.db")};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$value", value);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
