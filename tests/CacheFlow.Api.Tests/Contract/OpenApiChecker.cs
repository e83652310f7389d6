using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace CacheFlow.Api.Tests.Contract;

/// <summary>
/// Checks requests and responses against an OpenAPI 3.1 document the way a validating client would: the status is
/// documented for the operation, the media type too, the required headers are there, and the JSON body matches the
/// schema (the JSON Schema keywords the document uses: $ref, type, properties, required, additionalProperties, items,
/// enum, pattern, lengths, ranges, minProperties, allOf/anyOf/oneOf).
/// </summary>
public sealed class OpenApiChecker(JsonObject document)
{
    /// <summary>The document <paramref name="client"/>'s API serves.</summary>
    public static async Task<OpenApiChecker> LoadAsync(HttpClient client) =>
        new(JsonNode.Parse(await client.GetStringAsync("/openapi/v1.json", TestContext.Current.CancellationToken))!.AsObject());

    /// <summary>What is wrong with a response, against the operation of the request it answers (empty when nothing is).</summary>
    public async Task<List<string>> CheckAsync(HttpResponseMessage response)
    {
        var request = response.RequestMessage ?? throw new InvalidOperationException("a response without its request");
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return CheckResponse(request.Method.Method, request.RequestUri!.AbsolutePath, response, body);
    }

    /// <summary>Fails unless the response is what the document says the operation answers.</summary>
    public async Task AssertDocumentedAsync(HttpResponseMessage response)
    {
        var errors = await CheckAsync(response);
        Assert.True(errors.Count == 0, string.Join('\n', errors));
    }

    /// <summary>
    /// The operation for a request, with its path template; null if the document has none. As OpenAPI matches paths:
    /// a concrete path before a templated one (<c>/users/top</c> is not <c>/users/{id}</c>, whatever the method), and
    /// among templates as concrete, one whose parameters take the values; only then the method.
    /// </summary>
    public (string Template, JsonObject Operation)? Find(string method, string path)
    {
        // Segment by segment, each decoded on its own: an encoded '/' (%2F) stays inside its segment.
        var segments = path.Split('/').Select(Uri.UnescapeDataString).ToArray();
        var candidates = document["paths"]!.AsObject()
            .Select(p => (Template: p.Key, Segments: p.Key.Split('/'), Item: p.Value!))
            .Where(p => p.Segments.Length == segments.Length && p.Segments.Zip(segments).All(s => s.First.StartsWith('{') ? s.Second.Length > 0 : s.First == s.Second))
            .Select(p => (p.Template, p.Segments, p.Item, Parameters: p.Segments.Count(s => s.StartsWith('{'))))
            .ToList();
        if (candidates.Count == 0)
            return null;
        var concrete = candidates.Where(c => c.Parameters == candidates.Min(m => m.Parameters)).ToList();
        var chosen = concrete.FirstOrDefault(c => ParametersFit(c.Segments, segments, c.Item), concrete[0]);
        return chosen.Item[method.ToLowerInvariant()] is JsonObject operation ? (chosen.Template, operation) : null;
    }

    private bool ParametersFit(string[] template, string[] segments, JsonNode item) =>
        template.Zip(segments).Where(s => s.First.StartsWith('{')).All(s =>
            item.AsObject().Where(o => o.Value?["parameters"] is JsonArray).SelectMany(o => o.Value!["parameters"]!.AsArray())
                .FirstOrDefault(p => (string?)p!["name"] == s.First.Trim('{', '}') && (string?)p["in"] == "path")?["schema"] is not { } schema
            || Validate(PathValue(s.Second), schema, "$").Count == 0);

    /// <summary>A path segment as a parameter's value: a number where it is written as one, otherwise text.</summary>
    public static JsonNode PathValue(string segment) =>
        long.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && segment == number.ToString(CultureInfo.InvariantCulture)
            ? JsonValue.Create(number) : JsonValue.Create(segment);

    /// <summary>What is wrong with a response to <paramref name="method"/> <paramref name="path"/> (empty when nothing is).</summary>
    public List<string> CheckResponse(string method, string path, HttpResponseMessage response, string body)
    {
        var errors = new List<string>();
        if (Find(method, path) is not var (template, operation))
            return [$"{method} {path}: no operation in the document"];
        var status = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
        var at = $"{method} {template} → {status}";
        if ((operation["responses"]![status] ?? operation["responses"]![status[0] + "XX"] ?? operation["responses"]!["default"]) is not JsonObject documented)
            return [$"{at}: status not documented (documented: {string.Join(", ", operation["responses"]!.AsObject().Select(r => r.Key))})"];

        foreach (var (name, header) in documented["headers"]?.AsObject() ?? [])
        {
            if ((bool?)header!["required"] == true && !response.Headers.Contains(name) && !response.Content.Headers.Contains(name))
                errors.Add($"{at}: required header {name} missing");
        }

        if (body.Length == 0 || method == "HEAD")
            return errors;
        var mediaType = response.Content.Headers.ContentType?.MediaType ?? "(none)";
        if (documented["content"]?[mediaType]?["schema"] is not { } schema)
        {
            errors.Add($"{at}: body of type {mediaType} not documented");
            return errors;
        }

        errors.AddRange(Validate(JsonNode.Parse(body), schema, "$").Select(e => $"{at}: {e}"));
        return errors;
    }

    /// <summary>What a validating client would object to in a request body.</summary>
    public List<string> CheckRequestBody(string method, string path, string json)
    {
        if (Find(method, path) is not var (template, operation))
            return [$"{method} {path}: no operation in the document"];
        if (operation["requestBody"]?["content"]?["application/json"]?["schema"] is not { } schema)
            return [$"{method} {template}: no JSON request body documented"];
        return [.. Validate(JsonNode.Parse(json), schema, "$").Select(e => $"{method} {template} request: {e}")];
    }

    /// <summary>The schema violations of <paramref name="value"/>.</summary>
    public List<string> Validate(JsonNode? value, JsonNode schema, string at)
    {
        var errors = new List<string>();
        if (schema["$ref"] is { } reference)
        {
            var name = ((string)reference!).Split('/')[^1];
            return Validate(value, document["components"]!["schemas"]![name] ?? throw new InvalidOperationException($"unresolved {reference}"), at);
        }

        foreach (var part in schema["allOf"]?.AsArray() ?? [])
            errors.AddRange(Validate(value, part!, at));
        if (schema["anyOf"] is JsonArray anyOf && !anyOf.Any(s => Validate(value, s!, at).Count == 0))
            errors.Add($"{at}: matches none of anyOf");
        if (schema["oneOf"] is JsonArray oneOf && oneOf.Count(s => Validate(value, s!, at).Count == 0) != 1)
            errors.Add($"{at}: does not match exactly one of oneOf");

        var kind = Kind(value);
        if (schema["type"] is { } type)
        {
            var allowed = type is JsonArray list ? list.Select(t => (string)t!).ToList() : [(string)type!];
            if (!allowed.Contains(kind) && !(kind == "integer" && allowed.Contains("number")))
            {
                errors.Add($"{at}: is {kind}, expected {string.Join(" or ", allowed)}");
                return errors;
            }
        }

        if (schema["enum"] is JsonArray values && !values.Any(v => JsonNode.DeepEquals(v, value)))
            errors.Add($"{at}: {value?.ToJsonString()} is not one of {values.ToJsonString()}");
        switch (value)
        {
            case JsonObject obj:
                foreach (var required in schema["required"]?.AsArray() ?? [])
                {
                    if (!obj.ContainsKey((string)required!))
                        errors.Add($"{at}: required property {required} missing");
                }

                if (schema["minProperties"] is { } minProperties && obj.Count < (int)minProperties)
                    errors.Add($"{at}: fewer than {minProperties} properties");
                var properties = schema["properties"]?.AsObject();
                foreach (var (name, child) in obj)
                {
                    if (properties?[name] is { } propertySchema)
                        errors.AddRange(Validate(child, propertySchema, $"{at}.{name}"));
                    else if (schema["additionalProperties"] is { } additional)
                    {
                        if (additional.GetValueKind() == JsonValueKind.False)
                            errors.Add($"{at}: unexpected property {name}");
                        else if (additional is JsonObject additionalSchema)
                            errors.AddRange(Validate(child, additionalSchema, $"{at}.{name}"));
                    }
                }

                break;
            case JsonArray array when schema["items"] is { } items:
                for (var i = 0; i < array.Count; i++)
                    errors.AddRange(Validate(array[i], items, $"{at}[{i}]"));
                break;
            case JsonValue when kind == "string":
                var text = (string)value!;
                if (schema["pattern"] is { } pattern && !SchemaPattern.IsMatch((string)pattern!, text))
                    errors.Add($"{at}: \"{Shown(text)}\" does not match {Shown((string)pattern!)}");
                // JSON Schema counts characters as code points (an astral one is one, not two UTF-16 units).
                var length = CodePoints(text);
                if (schema["minLength"] is { } minLength && length < (int)minLength)
                    errors.Add($"{at}: shorter than {minLength}");
                if (schema["maxLength"] is { } maxLength && length > (int)maxLength)
                    errors.Add($"{at}: longer than {maxLength}");
                break;
            case JsonValue when kind is "integer" or "number":
                var number = decimal.Parse(value!.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);
                if (schema["minimum"] is { } minimum && number < (decimal)minimum)
                    errors.Add($"{at}: {number} is below {minimum}");
                if (schema["maximum"] is { } maximum && number > (decimal)maximum)
                    errors.Add($"{at}: {number} is above {maximum}");
                break;
        }

        return errors;
    }

    private static int CodePoints(string text)
    {
        var count = 0;
        for (var i = 0; i < text.Length; i++, count++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                i++;
        }

        return count;
    }

    private static string Shown(string text) => text.Length <= 80 ? text : text[..80] + "…";

    private static string Kind(JsonNode? value) => value?.GetValueKind() switch
    {
        null or JsonValueKind.Null => "null",
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Number => decimal.TryParse(value.ToJsonString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out _) ? "integer" : "number",
        _ => "unknown",
    };
}
