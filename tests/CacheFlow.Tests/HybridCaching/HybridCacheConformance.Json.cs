using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;

namespace CacheFlow.Tests.HybridCaching;

/// <summary>
/// The default JSON serialization through the L2, as Microsoft's SerializerTests show it: value tuples and other
/// types whose data is in fields round-trip (fields are included for them), a type with properties follows
/// System.Text.Json's own rule, and JsonSerializerOptions registered for all types or for one are used.
/// </summary>
public abstract partial class HybridCacheConformance
{
    /// <summary>Sets <paramref name="value"/> through one instance and reads it back from the L2 through another.</summary>
    private async Task<T?> ThroughTheL2Async<T>(T value, string suffix, Action<IServiceCollection>? configure = null)
    {
        await Bounded(NewInstance(configure).SetAsync(Key(suffix: suffix), value));
        return await Bounded(NewInstance(configure).GetOrCreateAsync<T?>(Key(suffix: suffix), _ => default, CacheOnly));
    }

    [Fact]
    public async Task ValueTuplesAndTypesWithDataInFieldsOnlyComeBackFromTheL2Whole()
    {
        var pair = await ThroughTheL2Async((Id: 42, Name: "abc"), ":pair");
        var list = await ThroughTheL2Async(new List<(int, string)> { (1, "a"), (2, "b") }, ":list");
        var fields = await ThroughTheL2Async(new FieldsOnly { X = 1, Y = "a" }, ":fields");
        var holder = await ThroughTheL2Async(new TupleHolder { Pair = (7, "seven") }, ":holder");
        var tuple = await ThroughTheL2Async(Tuple.Create(3, "c"), ":tuple");

        Assert.Equal((42, "abc"), pair);
        Assert.Equal([(1, "a"), (2, "b")], list!);
        Assert.Equal((1, "a"), (fields!.X, fields.Y));
        Assert.Equal((7, "seven"), holder!.Pair);
        Assert.Equal(Tuple.Create(3, "c"), tuple);
    }

    [Fact]
    public async Task ATypeWithPropertiesFollowsSystemTextJsonAndLeavesItsFieldsOut()
    {
        var read = await ThroughTheL2Async(new PropertyAndField { Field = 1, Property = "a" }, "");

        Assert.Equal((0, "a"), (read!.Field, read.Property));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task JsonSerializerOptionsRegisteredForAllTypesOrForOneAreUsed(bool perType)
    {
        var options = new JsonSerializerOptions { Converters = { new MarkingConverter() } };
        var key = perType ? typeof(IHybridCacheSerializer<Custom>) : typeof(IHybridCacheSerializer<>);

        var read = await ThroughTheL2Async(new Custom { Text = "value" }, "", services => services.AddKeyedSingleton<JsonSerializerOptions>(key, options));

        Assert.Equal(MarkingConverter.Mark + "value", read?.Text);
    }

    /// <summary>Writes <see cref="Custom"/> as a string and marks what it reads back, so a test sees the options were used.</summary>
    private sealed class MarkingConverter : JsonConverter<Custom>
    {
        public const string Mark = "converted:";

        public override Custom Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => new() { Text = Mark + reader.GetString() };

        public override void Write(Utf8JsonWriter writer, Custom value, JsonSerializerOptions options) => writer.WriteStringValue(value.Text);
    }
}
