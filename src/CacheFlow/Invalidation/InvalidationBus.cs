using CacheFlow.Redis;
using StackExchange.Redis;

namespace CacheFlow.Invalidation;

/// <summary>
/// The invalidation bus on Redis pub/sub (channel <c>{prefix}bus</c>): every instance publishes what it invalidated
/// (a key, a tag or a key prefix, as Redis names them) once Redis has taken it, whether or not it keeps an L1 itself,
/// and the instances that keep one drop their copies when they hear of it. Messages are
/// <c>{instance}|{kind}|{value}</c>; an instance ignores its own.
/// </summary>
internal sealed class InvalidationBus(IConnectionMultiplexer redis, CacheFlowOptions options)
{
    private readonly string _channelName = options.KeyPrefix + "bus";
    private readonly RedisChannel _channel = RedisChannel.Literal(options.KeyPrefix + "bus");
    private readonly string _instance = Guid.NewGuid().ToString("N");

    /// <summary>An entry (<c>{prefix}{user:42}</c>) was invalidated or written through.</summary>
    public void PublishKey(string entryKey) => Publish(BusMessageKind.Key, entryKey);

    /// <summary>The message <see cref="PublishKey"/> sends, for a script to publish with the change it makes.</summary>
    public BusMessage KeyMessage(string entryKey) => new(_channelName, Text(BusMessageKind.Key, entryKey));

    /// <summary>Every entry of a tag was invalidated.</summary>
    public void PublishTag(string tag) => Publish(BusMessageKind.Tag, tag);

    /// <summary>Every entry under an entry-key prefix (<c>{prefix}{user:</c>) was invalidated.</summary>
    public void PublishPrefix(string entryPrefix) => Publish(BusMessageKind.Prefix, entryPrefix);

    /// <summary>Hands every other instance's message to <paramref name="received"/>; throws what Redis throws if it cannot subscribe now.</summary>
    public void Subscribe(Action<BusMessageKind, string> received) =>
        redis.GetSubscriber().Subscribe(_channel, (_, message) =>
        {
            var text = (string)message!;
            if (text.Length < _instance.Length + 3 || text.StartsWith(_instance, StringComparison.Ordinal))
                return;
            var kind = text.IndexOf('|', StringComparison.Ordinal) + 1;
            received((BusMessageKind)text[kind], text[(kind + 2)..]);
        });

    private void Publish(BusMessageKind kind, string value)
    {
        try
        {
            redis.GetSubscriber().Publish(_channel, Text(kind, value), CommandFlags.FireAndForget);
        }
        catch (Exception ex) when (RedisGuard.IsFailure(ex))
        {
            // Redis is down: no instance can hear it, and each clears its L1 when it reconnects.
        }
    }

    private string Text(BusMessageKind kind, string value) => $"{_instance}|{(char)kind}|{value}";
}

/// <summary>A bus message as a script publishes it: the channel's name and the message.</summary>
internal readonly record struct BusMessage(string Channel, string Text);

/// <summary>What a bus message invalidates; the value is its character on the wire.</summary>
internal enum BusMessageKind
{
    Key = 'k',
    Tag = 't',
    Prefix = 'p',
}
