namespace CacheFlow.AspNetCore;

/// <summary>
/// What a cached endpoint's key varies by beyond its handler's bound route and query values: named headers, query and
/// route values read by other means, and the user. The names follow ASP.NET Core output caching
/// (<c>VaryByHeader</c>, <c>VaryByQuery</c>, <c>VaryByRouteValue</c>).
/// </summary>
/// <remarks>
/// When the endpoint is built, every handler parameter must be covered: a <c>[FromHeader]</c> parameter by
/// <see cref="ByHeader"/>, a <see cref="System.Security.Claims.ClaimsPrincipal"/> by <see cref="ByUser"/>, an
/// <c>HttpContext</c> or <c>HttpRequest</c> (which can read anything) by <see cref="AllowHttpContext"/>. A body or
/// form is never covered. Otherwise the endpoint fails with an <see cref="InvalidOperationException"/>.
/// </remarks>
public sealed class CacheResponseVary
{
    private readonly List<string> _headers = [];
    private readonly List<string> _queryKeys = [];
    private readonly List<string> _routeValues = [];

    /// <summary>The request headers the key varies by, in the order declared.</summary>
    public IReadOnlyList<string> Headers => _headers;

    /// <summary>The query keys the key varies by, beyond those the handler binds.</summary>
    public IReadOnlyList<string> QueryKeys => _queryKeys;

    /// <summary>The route values the key varies by, beyond those the handler binds.</summary>
    public IReadOnlyList<string> RouteValues => _routeValues;

    /// <summary>Whether the key varies by the authenticated user.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool User { get; private set; }

    /// <summary>Whether the handler may bind <c>HttpContext</c>, <c>HttpRequest</c> or a <c>BindAsync</c> type.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool HttpContextAllowed { get; private set; }

    /// <summary>
    /// Varies the key by a request header's raw value (all its values, in order); an absent header and an empty one
    /// are different keys. Required for each header a <c>[FromHeader]</c> parameter binds.
    /// </summary>
    /// <param name="name">The header name, such as <c>Accept-Language</c>; compared ignoring case.</param>
    /// <returns>This declaration, for chaining.</returns>
    public CacheResponseVary ByHeader(string name) => Add(_headers, name);

    /// <summary>
    /// Varies the key by a query value the handler reads without binding it (through <c>HttpRequest.Query</c>, say).
    /// Bound query parameters are in the key already.
    /// </summary>
    /// <param name="name">The query key.</param>
    /// <returns>This declaration, for chaining.</returns>
    public CacheResponseVary ByQuery(string name) => Add(_queryKeys, name);

    /// <summary>
    /// Varies the key by a route value the handler reads without binding it. Bound route parameters are in the key
    /// already.
    /// </summary>
    /// <param name="name">The route value name.</param>
    /// <returns>This declaration, for chaining.</returns>
    public CacheResponseVary ByRouteValue(string name) => Add(_routeValues, name);

    /// <summary>
    /// Varies the key by the user: the issuer and value of the <c>NameIdentifier</c> claim, else of the name claim;
    /// anonymous requests share one anonymous entry. An authenticated user with neither claim is not cached
    /// (<c>X-Cache: BYPASS</c>). Required when the handler binds a <see cref="System.Security.Claims.ClaimsPrincipal"/>.
    /// </summary>
    /// <returns>This declaration, for chaining.</returns>
    public CacheResponseVary ByUser()
    {
        User = true;
        return this;
    }

    /// <summary>
    /// Accepts a handler that binds <c>HttpContext</c>, <c>HttpRequest</c> or a type with <c>BindAsync</c>. Those can
    /// read anything (any header, the user, the body), so no analysis can prove the key covers what the handler
    /// reads: calling this says you have declared everything it reads with the other <c>By</c> methods.
    /// </summary>
    /// <returns>This declaration, for chaining.</returns>
    public CacheResponseVary AllowHttpContext()
    {
        HttpContextAllowed = true;
        return this;
    }

    private CacheResponseVary Add(List<string> names, string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!names.Contains(name, StringComparer.OrdinalIgnoreCase))
            names.Add(name);
        return this;
    }
}
