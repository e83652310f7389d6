using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.OpenApi;

namespace CacheFlow.Api.Tests.Contract.Generated;

public sealed partial class DocumentCaseGenerator
{
    /// <summary>
    /// Characters inserted into an allowed string to leave its pattern: whitespace, controls, format and bidi
    /// characters, private use, noncharacters, punctuation, and letters outside ASCII. Those the pattern still allows
    /// are dropped (an 'é' is a fine character of an email, not of a username).
    /// </summary>
    private static readonly string[] Probes =
    [
        " ", "\t", "\n", "\r", "\0", "\u0007", "\u007F", "\u0085", "\u00A0", "\u00AD", "\u061C", "\u200B", "\u200D", "\u200E", "\u2028",
        "\u202E", "\u2066", "\u3000", "\uFEFF", "\uE000", "\uFDD0", "\uFFFE", "@", ".", "..", "/", "!", "_", "*", "\u00E9", "\u00DF",
    ];

    /// <summary>Bodies an object schema allows: the required fields (or the first of anyOf's), then every field, then each field's allowed values.</summary>
    private IEnumerable<JsonObject> AllowedBodies(IOpenApiSchema schema, Func<string, List<string>> check)
    {
        var properties = schema.Properties ?? new Dictionary<string, IOpenApiSchema>();
        var needed = Needed(schema);
        JsonObject Minimal() => MinimalBody(schema);

        var bodies = new List<JsonObject> { Minimal() };
        var all = Minimal();
        foreach (var (name, property) in properties.Where(p => !needed.Contains(p.Key)))
            all[name] = AllowedValues(property).First();
        bodies.Add(all);
        foreach (var (name, property) in properties)
        {
            foreach (var value in AllowedValues(property))
            {
                var body = Minimal();
                body[name] = value;
                bodies.Add(body);
            }
        }

        foreach (var body in bodies)
        {
            if (check(body.ToJsonString()) is { Count: > 0 } errors)
                throw new InvalidOperationException($"the generator made a body the document refuses: {body.ToJsonString()}: {string.Join("; ", errors)}");
            yield return body;
        }
    }

    /// <summary>The required fields (and the first of anyOf's), each with a new allowed value.</summary>
    private JsonObject MinimalBody(IOpenApiSchema schema) =>
        new(Needed(schema).Select(name => KeyValuePair.Create(name, (JsonNode?)AllowedValues(schema.Properties![name]).First())));

    private static List<string> Needed(IOpenApiSchema schema) =>
        [.. (schema.Required ?? new HashSet<string>()).Concat(schema.AnyOf?.FirstOrDefault()?.Required ?? new HashSet<string>()).Distinct()];

    /// <summary>
    /// Bodies the schema forbids, each one change to a new minimal body (new values: so a server that took one would
    /// create it, not answer a clash), kept only if the document refuses it.
    /// </summary>
    private IEnumerable<(string What, string Json)> ForbiddenBodies(IOpenApiSchema schema, Func<string, List<string>> check)
    {
        var properties = schema.Properties ?? new Dictionary<string, IOpenApiSchema>();
        var candidates = new List<(string What, string Json)>();
        JsonObject Changed(Action<JsonObject> change)
        {
            var body = MinimalBody(schema);
            change(body);
            return body;
        }

        foreach (var name in Needed(schema))
            candidates.Add(($"without {name}", Changed(b => b.Remove(name)).ToJsonString()));
        candidates.Add(("{}", "{}"));
        candidates.Add(("with an undeclared field nickname", Changed(b => b["nickname"] = "x").ToJsonString()));
        foreach (var name in properties.Keys)
        {
            var otherCase = char.ToUpperInvariant(name[0]) + name[1..];
            candidates.Add(($"with {otherCase} for {name}", Changed(b => b[otherCase] = AllowedValues(properties[name]).First()).ToJsonString()));
        }

        foreach (var (name, property) in properties)
        {
            foreach (var other in new JsonNode?[] { JsonValue.Create(5), JsonValue.Create(1.5), JsonValue.Create(true), JsonValue.Create("true"), null, new JsonObject(), new JsonArray() })
                candidates.Add(($"{name}={other?.ToJsonString() ?? "null"}", Changed(b => b[name] = other?.DeepClone()).ToJsonString()));
            if (property.Type is { } type && type.HasFlag(JsonSchemaType.String))
            {
                foreach (var (what, value) in ForbiddenStrings(property, AllowedStrings(property).First()))
                    candidates.Add(($"{name} {what}", Changed(b => b[name] = value).ToJsonString()));
            }
        }

        candidates.AddRange([("[]", "[]"), ("\"x\"", "\"x\""), ("1", "1"), ("null", "null")]);
        return candidates.Where(c => check(c.Json).Count > 0);
    }

    private IEnumerable<JsonNode> AllowedValues(IOpenApiSchema schema)
    {
        if (schema.Type is { } type && type.HasFlag(JsonSchemaType.Boolean))
            return [JsonValue.Create(true), JsonValue.Create(false)];
        if (IsInteger(schema))
            return Allowed(schema).Select(v => (JsonNode)JsonValue.Create(long.Parse(v, CultureInfo.InvariantCulture)));
        return AllowedStrings(schema).Select(v => (JsonNode)JsonValue.Create(v));
    }

    /// <summary>
    /// Strings a schema allows, each new (so creates do not clash): every example made unique by a token of this run in
    /// front, then one at the shortest and one at the longest length allowed, padded or cut at the front. A string the
    /// schema refuses after that is left out.
    /// </summary>
    private IEnumerable<string> AllowedStrings(IOpenApiSchema schema)
    {
        var seeds = (schema.Examples ?? []).Append(schema.Default)
            .OfType<JsonValue>().Select(v => v.TryGetValue<string>(out var text) ? text : null).OfType<string>().Distinct().ToList();
        if (seeds.Count == 0)
            seeds.Add("generated");
        var values = seeds.Select(seed => Unique(schema, seed)).ToList();
        if (schema.MinLength is > 0 and var shortest)
            values.Add(Fit(values[0], shortest));
        if (schema.MaxLength is { } longest)
            values.Add(Fit(Unique(schema, seeds[0]), longest));
        return values.Where(v => AllowsString(schema, v)).Distinct();
    }

    /// <summary>Strings the schema forbids, made from an allowed one: one code point too short or too long, a probe character inserted.</summary>
    private IEnumerable<(string What, string Value)> ForbiddenStrings(IOpenApiSchema schema, string allowed)
    {
        var candidates = new List<(string What, string Value)>();
        if (schema.MinLength is > 0 and var shortest)
            candidates.Add(($"of {shortest - 1} characters", Fit(allowed, shortest - 1)));
        if (schema.MaxLength is { } longest)
            candidates.Add(($"of {longest + 1} characters", Fit(allowed, longest + 1)));
        if (schema.Pattern is not null)
        {
            var at = allowed.IndexOf('@', StringComparison.Ordinal);
            foreach (var probe in Probes)
            {
                candidates.Add(($"with {Shown(probe)} first", probe + allowed));
                if (at >= 0)
                    candidates.Add(($"with {Shown(probe)} after the @", allowed.Insert(at + 1, probe)));
                candidates.Add(($"with {Shown(probe)} last", allowed + probe));
            }
        }

        return candidates.Where(c => !AllowsString(schema, c.Value)).DistinctBy(c => c.Value);
    }

    private static bool AllowsString(IOpenApiSchema schema, string value)
    {
        var length = value.EnumerateRunes().Count();
        return (schema.Pattern is null || SchemaPattern.IsMatch(schema.Pattern, value)) && length >= (schema.MinLength ?? 0) && length <= (schema.MaxLength ?? int.MaxValue);
    }

    /// <summary><paramref name="seed"/> with this run's next token in front, or in place of its first characters, if the schema allows either.</summary>
    private string Unique(IOpenApiSchema schema, string seed)
    {
        // The counter first: a value cut to its first three characters (a shortest username) is still new.
        var token = Base36(_unique++) + _salt;
        var inFront = token + seed;
        if (AllowsString(schema, inFront))
            return inFront;
        var inPlace = token + seed[Math.Min(token.Length, seed.Length)..];
        return AllowsString(schema, inPlace) ? inPlace : seed;
    }

    private static string Base36(int number)
    {
        const string Digits = "0123456789abcdefghijklmnopqrstuvwxyz";
        var text = new StringBuilder();
        for (var i = 0; i < 3; i++, number /= 36)
            text.Insert(0, Digits[number % 36]);
        return text.ToString();
    }

    /// <summary><paramref name="value"/> cut or padded (with its first character) at the front to <paramref name="length"/> code points.</summary>
    private static string Fit(string value, int length)
    {
        var runes = value.EnumerateRunes().ToList();
        if (runes.Count >= length)
            return string.Concat(runes.Take(length).Select(r => r.ToString()));
        return new StringBuilder().Insert(0, runes[0].ToString(), length - runes.Count).Append(value).ToString();
    }
}
