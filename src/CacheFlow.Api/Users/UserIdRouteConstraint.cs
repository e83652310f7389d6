using Microsoft.AspNetCore.Routing.Matching;

namespace CacheFlow.Api.Users;

/// <summary>
/// The <c>{id:userId}</c> route constraint: a path segment that is another route's literal (<c>/users/top</c>,
/// <c>/users/async</c>) is that path, never an id, so a method it does not answer is a 405 (<c>PATCH /users/top</c>
/// was a 400 "invalid id"). Any other segment reaches the endpoint, whose <see cref="CanonicalIdFilter"/> refuses one
/// that is not a canonical id with a 400 in our words (a constraint that failed would make it a bare 404).
/// </summary>
internal sealed class UserIdRouteConstraint : IRouteConstraint, IParameterLiteralNodeMatchingPolicy
{
    /// <summary>The name in route templates.</summary>
    public const string Name = "userId";

    public bool Match(HttpContext? httpContext, IRouter? route, string routeKey, RouteValueDictionary values, RouteDirection routeDirection) => true;

    /// <summary>Whether routing may take another route's literal as an id here: only if it is one.</summary>
    public bool MatchesLiteral(string parameterName, string literal) => UserIds.IsCanonical(literal);
}
