namespace CacheFlow;

/// <summary>
/// A cache over Redis. Reads are cache-aside (<see cref="GetOrCreateJsonAsync{T}"/>), writes are write-through
/// (<see cref="SetAsync{T}"/>), and entries are removed by key, tag or key prefix. Redis failures never reach the
/// caller: they are logged and counted, and the value comes from the factory (<see cref="CacheOutcome.Bypass"/>).
/// </summary>
public interface ICacheFlow
{
    /// <summary>
    /// Returns the cached value of <paramref name="key"/> as response-ready JSON, or runs
    /// <paramref name="factory"/>, caches its result and returns it. A hit is not deserialized. A null result is
    /// cached for <see cref="CacheEntryOptions.NullDuration"/>. The factory may run after this caller returned (a
    /// background refresh, a load shared with other callers): it should use singletons, not the caller's scope.
    /// </summary>
    /// <typeparam name="T">The type of the value; the serializer options must know it.</typeparam>
    /// <param name="key">The cache key, such as <c>user:42</c>.</param>
    /// <param name="factory">Loads the value from the source of truth.</param>
    /// <param name="options">How to cache the entry; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">
    /// Cancels this caller's wait; the factory, shared with others, gets a token cancelled when every caller waiting
    /// for it has cancelled, or the cache is disposed.
    /// </param>
    ValueTask<CacheResult> GetOrCreateJsonAsync<T>(string key, Func<CancellationToken, ValueTask<T>> factory, CacheEntryOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Like <see cref="GetOrCreateJsonAsync{T}"/> for a factory that produces UTF-8 JSON itself, or
    /// <see langword="null"/> when its result must not be cached (an error response, say). The factory only runs
    /// while its caller waits (never as a background refresh after the caller returned), so it may use the caller's
    /// context, such as an HTTP request: a stale entry is refreshed by the caller that finds it, and early refresh is off.
    /// </summary>
    /// <param name="key">The cache key.</param>
    /// <param name="factory">Produces the value as UTF-8 JSON, or null for "do not cache".</param>
    /// <param name="options">How to cache the entry; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels this caller's wait.</param>
    ValueTask<CacheResult> GetOrCreateRawAsync(string key, Func<CancellationToken, ValueTask<ReadOnlyMemory<byte>?>> factory, CacheEntryOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Returns the cached bytes of <paramref name="key"/> as they were stored (by <see cref="SetRawAsync"/> or any
    /// other write), or <see langword="null"/>: on a miss, for an entry past its soft expiry (nothing is refreshed:
    /// there is no factory), while an invalidation that may cover the key has not reached Redis yet, and when Redis
    /// fails (logged and counted as a bypass, never thrown). A fresh L1 copy is served when the L1 is on; otherwise
    /// this is one Redis GET, and takes no lease.
    /// </summary>
    /// <param name="key">The cache key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<CacheResult?> GetRawAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores <paramref name="value"/> under <paramref name="key"/> as it is, not serialized (write-through, as
    /// <see cref="SetAsync{T}"/>). Returns false if Redis failed or refused the write (an invalidation of the key came
    /// just before it).
    /// </summary>
    /// <param name="key">The cache key.</param>
    /// <param name="value">The bytes to store: JSON for the JSON reads, or any format the caller reads back with <see cref="GetRawAsync"/>.</param>
    /// <param name="options">How to cache the entry; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<bool> SetRawAsync(string key, ReadOnlyMemory<byte> value, CacheEntryOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Returns the cached value of <paramref name="key"/>, or runs <paramref name="factory"/> and caches its result.
    /// From the L1, a value of an immutable type (a string, a value type holding no references, a sealed type marked
    /// <c>[ImmutableObject(true)]</c>) is the same instance for every caller; any other is a fresh copy per caller.
    /// </summary>
    /// <typeparam name="T">The type of the value; the serializer options must know it.</typeparam>
    /// <param name="key">The cache key, such as <c>user:42</c>.</param>
    /// <param name="factory">Loads the value from the source of truth.</param>
    /// <param name="options">How to cache the entry; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">
    /// Cancels this caller's wait; the factory, shared with others, gets a token cancelled when every caller waiting
    /// for it has cancelled, or the cache is disposed.
    /// </param>
    ValueTask<CacheResult<T?>> GetOrCreateAsync<T>(string key, Func<CancellationToken, ValueTask<T>> factory, CacheEntryOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Many keys in one call: each key's cached value as response-ready JSON, with one <paramref name="factory"/> call
    /// for every key to load (so the source can answer with one query, such as <c>WHERE id = ANY(@ids)</c>). Redis is
    /// read with one script that also takes the leases of the misses, and written back with one more (one of each per
    /// hash slot on a cluster); each key keeps its lease check. A key the factory's dictionary lacks is a null (cached
    /// for <see cref="CacheEntryOptions.NullDuration"/>). A stale entry is served and refreshed in the background, by
    /// the factory called for that key alone. The factory runs while its caller waits, with its token.
    /// </summary>
    /// <typeparam name="T">The type of the values; the serializer options must know it.</typeparam>
    /// <param name="keys">The cache keys; duplicates are read once.</param>
    /// <param name="factory">Loads the values of the keys it is given, keyed by cache key.</param>
    /// <param name="options">How to cache the entries; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels the call and the factory.</param>
    ValueTask<IReadOnlyDictionary<string, CacheResult>> GetOrCreateManyJsonAsync<T>(
        IEnumerable<string> keys, Func<IReadOnlyList<string>, CancellationToken, ValueTask<IReadOnlyDictionary<string, T>>> factory,
        CacheEntryOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Like <see cref="GetOrCreateManyJsonAsync{T}"/>, each value deserialized.</summary>
    /// <typeparam name="T">The type of the values; the serializer options must know it.</typeparam>
    /// <param name="keys">The cache keys; duplicates are read once.</param>
    /// <param name="factory">Loads the values of the keys it is given, keyed by cache key.</param>
    /// <param name="options">How to cache the entries; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels the call and the factory.</param>
    ValueTask<IReadOnlyDictionary<string, CacheResult<T?>>> GetOrCreateManyAsync<T>(
        IEnumerable<string> keys, Func<IReadOnlyList<string>, CancellationToken, ValueTask<IReadOnlyDictionary<string, T>>> factory,
        CacheEntryOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Stores <paramref name="value"/> under <paramref name="key"/> (write-through). Returns false if Redis failed.</summary>
    /// <typeparam name="T">The type of the value; the serializer options must know it.</typeparam>
    /// <param name="key">The cache key.</param>
    /// <param name="value">The value, as the source of truth now holds it.</param>
    /// <param name="options">How to cache the entry; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<bool> SetAsync<T>(string key, T value, CacheEntryOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Changes a cached value in place, atomically (compare-and-set, retried), keeping its expiry; for counters and
    /// other small changes the cache should show at once. If the key is not cached, a load in progress is revoked
    /// (its value predates the change) and nothing else happens. Returns true if the cached value was changed; if it
    /// could not be (contention, Redis failure), the entry is removed so the next read loads the change.
    /// </summary>
    /// <typeparam name="T">The type of the value; the serializer options must know it.</typeparam>
    /// <param name="key">The cache key.</param>
    /// <param name="update">Computes the new value from the cached one; it may run more than once.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<bool> UpdateIfCachedAsync<T>(string key, Func<T, T> update, CancellationToken cancellationToken = default);

    /// <summary>Removes the entry of <paramref name="key"/>. Returns false if Redis failed.</summary>
    /// <param name="key">The cache key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<bool> RemoveAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Removes every entry that carries <paramref name="tag"/>. Returns how many were removed, or -1 if Redis failed.</summary>
    /// <param name="tag">The tag, such as <c>users:list</c>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<long> RemoveByTagAsync(string tag, CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes every entry whose key starts with <paramref name="keyPrefix"/> (matched literally: glob characters
    /// in it match only themselves), paging with SCAN on every primary. Returns how many were removed, or -1 if Redis failed.
    /// </summary>
    /// <param name="keyPrefix">The start of the keys, such as <c>user:42:</c>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<long> RemoveByPrefixAsync(string keyPrefix, CancellationToken cancellationToken = default);

    /// <summary>A snapshot of the cache's counters since the process started or <see cref="ResetStatistics"/>.</summary>
    CacheStatistics GetStatistics();

    /// <summary>Zeroes the counters <see cref="GetStatistics"/> reports; the exported meter keeps counting.</summary>
    void ResetStatistics();
}
