using CacheFlow.Api.Http;

namespace CacheFlow.Api.Users;

/// <summary>
/// Refuses an endpoint's <c>{id}</c> route value unless it is canonical (<see cref="UserIds"/>). The handlers bind
/// <c>long id</c>, which would take <c>+1</c>, <c>01</c> or <c> 1</c>; a value that is not a number at all fails
/// binding first and gets the same answer from <see cref="BadRequestExceptionHandler"/>.
/// </summary>
internal sealed class CanonicalIdFilter : IEndpointFilter
{
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        context.HttpContext.Request.RouteValues.TryGetValue("id", out var id) && id is string text && !UserIds.IsCanonical(text)
            ? ValueTask.FromResult<object?>(UserIds.Invalid(text))
            : next(context);
}
