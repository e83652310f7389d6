using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;

namespace CacheFlow.Tests.HybridCaching;

/// <summary>Serializers registered in DI are used; System.Text.Json is the default.</summary>
public abstract partial class HybridCacheConformance
{
    [Fact]
    public async Task ASerializerRegisteredInDiIsUsedForItsType()
    {
        var serializer = new CountingSerializer();
        void Register(IServiceCollection services) => services.AddSingleton<IHybridCacheSerializer<Custom>>(serializer);
        var writer = NewInstance(Register);
        var reader = NewInstance(Register);

        await Bounded(writer.GetOrCreateAsync(Key(), _ => ValueTask.FromResult(new Custom { Text = "value" })));
        await InL2Async<Custom>(Key(), Register);
        var read = await Bounded(reader.GetOrCreateAsync<Custom?>(Key(), _ => default, CacheOnly));

        Assert.Equal(CountingSerializer.Mark + "value", read?.Text);
        Assert.True(serializer.Serialized >= 1, "the value was serialized by the registered serializer");
        Assert.True(serializer.Deserialized >= 1, "the value was deserialized by the registered serializer");
    }

    [Fact]
    public async Task ASerializerFactoryRegisteredInDiIsUsedForTheTypesItAccepts()
    {
        var factory = new CountingSerializerFactory();
        void Register(IServiceCollection services) => services.AddSingleton<IHybridCacheSerializerFactory>(factory);
        var writer = NewInstance(Register);
        var reader = NewInstance(Register);

        await Bounded(writer.SetAsync(Key(), new Custom { Text = "value" }));
        await Bounded(writer.SetAsync(Key() + ":other", new Frozen(1, "not the factory's type")));
        var read = await Bounded(reader.GetOrCreateAsync<Custom?>(Key(), _ => default, CacheOnly));
        var other = await Bounded(reader.GetOrCreateAsync<Frozen?>(Key() + ":other", _ => default, CacheOnly));

        Assert.Equal(CountingSerializer.Mark + "value", read?.Text);
        Assert.Equal(new Frozen(1, "not the factory's type"), other);
        Assert.True(factory.Serializer.Serialized >= 1, "the value was serialized by the factory's serializer");
        Assert.True(factory.Serializer.Deserialized >= 1, "the value was deserialized by the factory's serializer");
    }

    [Fact]
    public async Task SystemTextJsonIsTheDefaultSerializer()
    {
        var writer = NewInstance();
        await Bounded(writer.SetAsync(Key(), new JsonShaped { Kept = 7, Ignored = "dropped by [JsonIgnore]" }));

        var read = await Bounded(NewInstance().GetOrCreateAsync<JsonShaped?>(Key(), _ => default, CacheOnly));

        Assert.Equal((7, null), (read?.Kept, read?.Ignored));
    }
}
