using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using Microsoft.OpenApi;

namespace CacheFlow.Api.Tests.Contract.Generated;

/// <summary>
/// Makes requests from an OpenAPI document, read with Microsoft.OpenApi. For every operation: requests it allows (each
/// parameter at its bounds, default and examples; bodies with the required fields, with every field, with each field
/// at its bounds and examples) and requests it forbids (a parameter past a bound or not of its type; a body without a
/// required field or any of <c>anyOf</c>'s, with a field it does not declare, a field of another type or null, a
/// string too short, too long or outside its pattern; a body that is no object; a media type it does not list).
/// Whether a body is allowed is decided by validating it against the document (<see cref="OpenApiChecker"/>), not by
/// what the mutation that made it meant to do: a mutation the document still allows is dropped, and a "valid" body the
/// document refuses is a bug of the generator, which throws.
/// </summary>
public sealed partial class DocumentCaseGenerator
{
    private readonly OpenApiDocument _document;
    private readonly OpenApiChecker _checker;
    private readonly string _apiKey;
    private readonly string _salt;
    private int _unique;

    /// <param name="json">The document.</param>
    /// <param name="apiKey">The value for an API-key security scheme.</param>
    /// <param name="salt">A few letters or digits that make this run's generated names its own.</param>
    public DocumentCaseGenerator(string json, string apiKey, string salt)
    {
        var read = OpenApiDocument.Parse(json, "json");
        if (read.Document is null || read.Diagnostic?.Errors.Count > 0)
            throw new InvalidOperationException("The document does not parse: " + string.Join("; ", read.Diagnostic?.Errors.Select(e => e.Message) ?? []));
        _document = read.Document;
        _checker = new OpenApiChecker(JsonNode.Parse(json)!.AsObject());
        (_apiKey, _salt) = (apiKey, salt);
        // Runs against one API start at different counters, so their shortest values do not clash either.
        _unique = Random.Shared.Next(36 * 36 * 36 - 5000);
    }

    /// <summary>The cases of every operation but those named in <paramref name="skip"/>, in the document's order.</summary>
    public IEnumerable<DocumentCase> Generate(IReadOnlySet<string> skip)
    {
        foreach (var (template, item) in _document.Paths)
        {
            foreach (var (method, operation) in item.Operations ?? [])
            {
                if (skip.Contains(operation.OperationId ?? ""))
                    continue;
                foreach (var generated in Operation(template, method.Method, operation, item))
                    yield return generated;
            }
        }
    }

    private IEnumerable<DocumentCase> Operation(string template, string method, OpenApiOperation operation, IOpenApiPathItem item)
    {
        var id = operation.OperationId ?? $"{method} {template}";
        var parameters = (item.Parameters ?? []).Concat(operation.Parameters ?? []).Where(p => p.In is ParameterLocation.Path or ParameterLocation.Query).ToList();
        var headers = Headers(operation);
        var body = operation.RequestBody?.Content?.TryGetValue("application/json", out var media) == true ? media.Schema : null;

        // The baseline: every path parameter at its first allowed value, no query, the first allowed body.
        var baseline = parameters.Where(p => p.In == ParameterLocation.Path).ToDictionary(p => p.Name!, p => Allowed(p.Schema!).First());
        var path = Url(template, parameters, baseline);
        List<string> Check(string json) => _checker.CheckRequestBody(method, path, json);
        var bodies = body is null ? [] : AllowedBodies(body, Check).ToList();
        var first = bodies.FirstOrDefault()?.ToJsonString();

        DocumentCase Case(string what, bool valid, IReadOnlyDictionary<string, string> values, string? json = null, string contentType = "application/json")
        {
            var sent = json ?? first;
            return new($"{id} {what}", method, Url(template, parameters, values), valid)
            {
                Body = sent,
                ContentType = sent is null ? null : contentType,
                Headers = headers,
            };
        }

        yield return Case("as documented", true, baseline);
        foreach (var parameter in parameters)
        {
            var at = $"{(parameter.In == ParameterLocation.Path ? "path" : "query")}.{parameter.Name}";
            foreach (var value in Allowed(parameter.Schema!).Skip(parameter.In == ParameterLocation.Path ? 1 : 0))
                yield return Case($"{at}={Shown(value)}", true, With(baseline, parameter.Name!, value));
            foreach (var value in Forbidden(parameter.Schema!, parameter.In == ParameterLocation.Path))
                yield return Case($"{at}={Shown(value)} (forbidden)", false, With(baseline, parameter.Name!, value));
        }

        if (body is null)
            yield break;
        foreach (var allowed in bodies.Skip(1))
            yield return Case($"body {Shown(allowed.ToJsonString())}", true, baseline, allowed.ToJsonString());
        foreach (var (what, json) in ForbiddenBodies(body, Check))
            yield return Case($"body {what} (forbidden)", false, baseline, json);
        foreach (var mediaType in new[] { "text/plain", "application/xml" }.Where(t => !operation.RequestBody!.Content!.ContainsKey(t)))
            yield return Case($"body as {mediaType} (forbidden)", false, baseline, first, mediaType);
        if (operation.RequestBody!.Required)
            yield return Case("without its required body (forbidden)", false, baseline, "");
    }

    /// <summary>The API key of a secured operation, in the header its scheme names.</summary>
    private List<(string Name, string Value)> Headers(OpenApiOperation operation) =>
        operation.Security?.Any(requirement => requirement.Count > 0) == true
            ? [.. (_document.Components?.SecuritySchemes?.Values ?? []).Where(s => s.Type == SecuritySchemeType.ApiKey && s.In == ParameterLocation.Header).Select(s => (s.Name!, _apiKey))]
            : [];

    private static string Url(string template, List<IOpenApiParameter> parameters, IReadOnlyDictionary<string, string> values)
    {
        var path = template;
        var query = new List<string>();
        foreach (var (name, value) in values)
        {
            if (parameters.Any(p => p.Name == name && p.In == ParameterLocation.Path))
                path = path.Replace("{" + name + "}", Uri.EscapeDataString(value), StringComparison.Ordinal);
            else
                query.Add($"{Uri.EscapeDataString(name)}={Uri.EscapeDataString(value)}");
        }

        return query.Count == 0 ? path : $"{path}?{string.Join('&', query)}";
    }

    private static Dictionary<string, string> With(Dictionary<string, string> values, string name, string value) => new(values) { [name] = value };

    /// <summary>Values a parameter's schema allows: its bounds, default and examples (or, for text, made to fit it).</summary>
    private IEnumerable<string> Allowed(IOpenApiSchema schema)
    {
        if (IsInteger(schema))
        {
            var values = new List<BigInteger>();
            if (Bound(schema.Minimum) is { } minimum)
                values.Add(minimum);
            if (schema.Default is JsonValue fallback && fallback.TryGetValue<long>(out var preset))
                values.Add(preset);
            if (Bound(schema.Maximum) is { } maximum)
                values.Add(maximum);
            if (values.Count == 0)
                values.Add(1);
            return values.Distinct().Select(v => v.ToString(CultureInfo.InvariantCulture));
        }

        return AllowedStrings(schema);
    }

    /// <summary>
    /// Values a parameter's schema forbids: past each bound, not an integer at all; text outside its rules (in a path,
    /// without a NUL, which the test server's client cannot send: KestrelContractTests sends those).
    /// </summary>
    private IEnumerable<string> Forbidden(IOpenApiSchema schema, bool inPath)
    {
        if (!IsInteger(schema))
            return ForbiddenStrings(schema, AllowedStrings(schema).First()).Select(f => f.Value).Where(v => !inPath || !v.Contains('\0', StringComparison.Ordinal));
        var values = new List<string>();
        if (Bound(schema.Minimum) is { } minimum)
            values.Add((minimum - 1).ToString(CultureInfo.InvariantCulture));
        if (Bound(schema.Maximum) is { } maximum)
            values.Add((maximum + 1).ToString(CultureInfo.InvariantCulture));
        values.AddRange(["1.5", "x", "1e3"]);
        return values;
    }

    private static bool IsInteger(IOpenApiSchema schema) => schema.Type is { } type && type.HasFlag(JsonSchemaType.Integer);

    private static BigInteger? Bound(string? value) => BigInteger.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var bound) ? bound : null;

    private static string Shown(string text)
    {
        var shown = string.Concat(text.Select(c => c is >= ' ' and < '\u007F' ? c.ToString() : $"\\u{(int)c:X4}"));
        return shown.Length <= 48 ? shown : $"{shown[..40]}…({text.Length})";
    }
}
