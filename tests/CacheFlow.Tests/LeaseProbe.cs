using CacheFlow.Redis;
using StackExchange.Redis;

namespace CacheFlow.Tests;

/// <summary>Whether a load holds a key's lease, wherever it is held: a miss's placeholder in the entry key, or the lease key beside it.</summary>
internal static class LeaseProbe
{
    public static async Task<bool> HeldAsync(IDatabase db, string entryKey) =>
        Lease.IsPlaceholder(await db.StringGetAsync(entryKey)) || await db.KeyExistsAsync(CacheKeys.Lease(entryKey));
}
