namespace CacheFlow.Api.Tests.Contract;

/// <summary>A request as the README writes it with curl.</summary>
/// <param name="Line">The command, for messages.</param>
/// <param name="Method">-X, or POST with -d, or GET.</param>
/// <param name="Path">The path and query, without <c>localhost:5000</c>.</param>
/// <param name="Headers">-H values.</param>
/// <param name="Body">-d value.</param>
public sealed record CurlExample(string Line, string Method, string Path, IReadOnlyList<(string Name, string Value)> Headers, string? Body);
