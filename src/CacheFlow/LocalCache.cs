using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Memory;
using StackExchange.Redis;

namespace CacheFlow;

/// <summary>
/// The optional in-process L1 in front of Redis: the same stored entries (soft and hard expiry respected), bounded in
/// count, each kept at most <see cref="CacheFlowOptions.LocalMaxAge"/>. Kept coherent across instances by an
/// invalidation bus on Redis pub/sub: every write or removal in one instance drops the copies in the others. An
/// instance whose connection dropped may have missed messages, so it clears its L1 when it reconnects; a lost message
/// costs at most the maximum age of staleness.
/// </summary>
internal sealed class LocalCache : IDisposable
{
    private readonly MemoryCache _entries;
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, byte>> _tags = new(StringComparer.Ordinal);
    private readonly IConnectionMultiplexer _redis;
    private readonly RedisChannel _channel;
    private readonly string _instance = Guid.NewGuid().ToString("N");
    private readonly TimeProvider _time;
    private readonly TimeSpan _maxAge;
    private volatile bool _subscribed;

    public LocalCache(IConnectionMultiplexer redis, CacheFlowOptions options, TimeProvider time)
    {
        _redis = redis;
        _time = time;
        _maxAge = options.LocalMaxAge;
        _entries = new MemoryCache(new MemoryCacheOptions { SizeLimit = options.LocalSizeLimit, Clock = null });
        _channel = RedisChannel.Literal(options.KeyPrefix + "bus");
        _redis.ConnectionRestored += OnReconnected;
        Subscribe();
    }

    /// <summary>How many entries the L1 holds.</summary>
    public long Count => _entries.Count;

    /// <summary>A copy, if there is one; none while the bus is not subscribed (invalidations could be missed).</summary>
    public StoredEntry? Get(string entryKey) => _subscribed && _entries.TryGetValue(entryKey, out StoredEntry stored) ? stored : null;

    /// <summary>Keeps an entry for at most the maximum age (or the entry's own duration, or its hard expiry, if sooner).</summary>
    public void Set(string entryKey, StoredEntry stored, CacheEntryOptions options)
    {
        if (!_subscribed)
            return;
        var now = _time.GetUtcNow();
        var age = options.LocalDuration is { } local && local < _maxAge ? local : _maxAge;
        var expires = DateTimeOffset.FromUnixTimeMilliseconds(Math.Min(stored.Header.HardExpiresAt, (now + age).ToUnixTimeMilliseconds()));
        if (expires <= now)
            return;
        _entries.Set(entryKey, stored, new MemoryCacheEntryOptions { AbsoluteExpiration = expires, Size = 1 });
        foreach (var tag in options.Tags)
            _tags.GetOrAdd(tag, _ => new ConcurrentDictionary<string, byte>(StringComparer.Ordinal))[entryKey] = 0;
    }

    /// <summary>Drops this instance's copy of a key and tells the others to drop theirs.</summary>
    public void Invalidate(string entryKey)
    {
        _entries.Remove(entryKey);
        Publish('k', entryKey);
    }

    /// <summary>Drops every copy of a tag's entries here and in the other instances.</summary>
    public void InvalidateTag(string tag)
    {
        RemoveTag(tag);
        Publish('t', tag);
    }

    /// <summary>Drops every copy of keys starting with a prefix here and in the other instances.</summary>
    public void InvalidatePrefix(string entryKeyPrefix)
    {
        RemovePrefix(entryKeyPrefix);
        Publish('p', entryKeyPrefix);
    }

    /// <summary>Drops everything (after a reconnect, messages may have been missed).</summary>
    public void Clear() => _entries.Clear();

    public void Dispose()
    {
        _redis.ConnectionRestored -= OnReconnected;
        _entries.Dispose();
    }

    private void Publish(char kind, string value)
    {
        try
        {
            _redis.GetSubscriber().Publish(_channel, $"{_instance}|{kind}|{value}", CommandFlags.FireAndForget);
        }
        catch (RedisException)
        {
            // Redis is down: the others cannot hear it, and will clear their L1 when they reconnect.
        }
    }

    private void OnMessage(RedisValue message)
    {
        var text = (string)message!;
        if (text.Length < _instance.Length + 3 || text.StartsWith(_instance, StringComparison.Ordinal))
            return;
        var value = text[(text.IndexOf('|', StringComparison.Ordinal) + 3)..];
        switch (text[text.IndexOf('|', StringComparison.Ordinal) + 1])
        {
            case 'k':
                _entries.Remove(value);
                break;
            case 't':
                RemoveTag(value);
                break;
            case 'p':
                RemovePrefix(value);
                break;
        }
    }

    private void RemoveTag(string tag)
    {
        if (_tags.TryRemove(tag, out var keys))
        {
            foreach (var key in keys.Keys)
                _entries.Remove(key);
        }
    }

    private void RemovePrefix(string entryKeyPrefix)
    {
        foreach (var key in _entries.Keys.OfType<string>().Where(k => k.StartsWith(entryKeyPrefix, StringComparison.Ordinal)).ToList())
            _entries.Remove(key);
    }

    private void OnReconnected(object? sender, ConnectionFailedEventArgs e)
    {
        Clear();
        if (!_subscribed)
            Subscribe();
    }

    /// <summary>Subscribes to the bus; until that succeeds (Redis was down at start) the L1 holds and serves nothing.</summary>
    private void Subscribe()
    {
        try
        {
            _redis.GetSubscriber().Subscribe(_channel, (_, message) => OnMessage(message));
            _subscribed = true;
        }
        catch (RedisException)
        {
            // Tried again when a connection is restored.
            _subscribed = false;
        }
    }
}
