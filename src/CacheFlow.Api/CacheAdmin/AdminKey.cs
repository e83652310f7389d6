using System.Security.Cryptography;
using System.Text;

namespace CacheFlow.Api.CacheAdmin;

/// <summary>
/// The admin API key (configuration <c>Admin:ApiKey</c>). With none configured, a random key is made for the run and
/// logged at start, so the admin endpoints are never open.
/// </summary>
public sealed class AdminKey
{
    /// <summary>The header the key travels in.</summary>
    public const string Header = "X-Api-Key";

    private readonly byte[] _key;

    /// <summary>Uses the configured key, or makes one.</summary>
    public AdminKey(IConfiguration configuration, ILogger<AdminKey> logger)
    {
        var configured = configuration["Admin:ApiKey"];
        if (string.IsNullOrWhiteSpace(configured))
        {
            configured = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            Log.GeneratedAdminKey(logger, configured);
        }

        _key = Encoding.UTF8.GetBytes(configured);
    }

    /// <summary>Whether <paramref name="candidate"/> is the key (compared in constant time).</summary>
    public bool Matches(string? candidate) =>
        candidate is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(candidate), _key);
}

/// <summary>
/// Lets a request through only with the admin key; otherwise 401 with a problem body and a <c>WWW-Authenticate</c>
/// challenge that names the header.
/// </summary>
internal sealed class AdminKeyFilter(AdminKey key) : IEndpointFilter
{
    /// <summary>The challenge of a 401: the scheme and the header the key goes in.</summary>
    public const string Challenge = $"ApiKey header=\"{AdminKey.Header}\"";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        if (key.Matches(context.HttpContext.Request.Headers[AdminKey.Header]))
            return await next(context);
        context.HttpContext.Response.Headers.WWWAuthenticate = Challenge;
        return TypedResults.Problem($"This endpoint needs the admin API key in the {AdminKey.Header} header.",
            statusCode: StatusCodes.Status401Unauthorized, title: "Admin API key required");
    }
}

/// <summary>Marks an endpoint as needing the admin key, so the OpenAPI document says so.</summary>
internal sealed class AdminKeyRequired;

/// <summary>Puts endpoints behind the admin key.</summary>
internal static class AdminKeyEndpointExtensions
{
    /// <summary>Adds <see cref="AdminKeyFilter"/> and the <see cref="AdminKeyRequired"/> marker.</summary>
    public static TBuilder RequireAdminKey<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter<TBuilder, AdminKeyFilter>().WithMetadata(new AdminKeyRequired());
}
