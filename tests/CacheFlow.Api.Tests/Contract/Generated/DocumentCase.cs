namespace CacheFlow.Api.Tests.Contract.Generated;

/// <summary>
/// One request made from the OpenAPI document: <see cref="Valid"/> if the document allows it (the server must accept
/// it: no 400, 413, 415 or 422, no 5xx, and an answer the document describes), otherwise one it forbids (the server
/// must refuse it with a documented 4xx problem).
/// </summary>
public sealed record DocumentCase(string Name, string Method, string Path, bool Valid)
{
    /// <summary>The JSON body, if any (sent as it is, so a duplicate or an odd name travels as written).</summary>
    public string? Body { get; init; }

    /// <summary>The body's media type.</summary>
    public string? ContentType { get; init; }

    /// <summary>Headers the operation needs (the admin key of a secured operation).</summary>
    public IReadOnlyList<(string Name, string Value)> Headers { get; init; } = [];

    public override string ToString() => Name;
}
