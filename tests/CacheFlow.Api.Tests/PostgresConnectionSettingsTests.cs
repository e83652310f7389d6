using CacheFlow.Api.Data;

namespace CacheFlow.Api.Tests;

/// <summary>
/// The pooled PostgreSQL connections' settings: the budget's timeouts, prepared statements and no reset between uses
/// by default, and a connection string's own choice kept in any spelling (a pooler that shares server connections
/// needs <c>Max Auto Prepare=0</c>).
/// </summary>
public sealed class PostgresConnectionSettingsTests
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(3);

    [Fact]
    public void PooledConnectionsPrepareTheirStatementsAndSkipTheResetByDefault()
    {
        var pooled = PostgresUserRepository.Pooled("Host=db;Database=users", Budget);

        Assert.Equal(PostgresUserRepository.AutoPrepared, pooled.MaxAutoPrepare);
        Assert.True(pooled.NoResetOnClose);
        Assert.Equal("-c lock_timeout=3000 -c statement_timeout=3000", pooled.Options);
    }

    [Theory]
    [InlineData("Host=db;Max Auto Prepare=0;No Reset On Close=false")]
    [InlineData("Host=db;MaxAutoPrepare=0;NoResetOnClose=false")]
    [InlineData("host=db;max auto prepare=0;no reset on close=false")]
    public void AConnectionStringsOwnSettingsAreKept(string connectionString)
    {
        var pooled = PostgresUserRepository.Pooled(connectionString, Budget);

        Assert.Equal(0, pooled.MaxAutoPrepare);
        Assert.False(pooled.NoResetOnClose);
    }
}
