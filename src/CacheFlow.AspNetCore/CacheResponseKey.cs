using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace CacheFlow.AspNetCore;

/// <summary>
/// The cache key of one endpoint's responses: the family, then the handler's bound route and query values by name
/// (<c>users:list:page=1:limit=20</c>), then what the endpoint declared (<c>:@header.accept-language=fr</c>,
/// <c>:@user=…</c> or <c>:@anon</c>). Names the handler binds are C# identifiers and never start with <c>@</c>; every
/// value (and declared name) is escaped with <see cref="Uri.EscapeDataString(string)"/>, so no value can forge another part;
/// a value longer than <see cref="MaxValueLength"/> is replaced by <c>#</c> and a SHA-256 prefix, so keys stay short.
/// </summary>
internal sealed class CacheResponseKey
{
    /// <summary>The longest escaped value kept as it is; a longer one is hashed.</summary>
    public const int MaxValueLength = 64;

    private readonly string _family;
    private readonly Part[] _parts;

    public CacheResponseKey(string family, IEnumerable<Part> parts)
    {
        _family = family;
        _parts = [.. parts];
    }

    /// <summary>
    /// Builds the key of a request, or returns <see langword="null"/> when it cannot be built safely (an authenticated
    /// user with no identifier): such a request is not cached.
    /// </summary>
    public string? Build(EndpointFilterInvocationContext context)
    {
        var key = new StringBuilder(_family);
        foreach (var part in _parts)
        {
            if (!part.TryAppend(key, context))
                return null;
        }

        return key.ToString();
    }

    /// <summary>Appends <c>=</c> and a value, escaped (and hashed when long).</summary>
    private static StringBuilder AppendValue(StringBuilder key, string escaped)
    {
        key.Append('=');
        if (escaped.Length <= MaxValueLength)
            return key.Append(escaped);
        // '#' is escaped in any value, so a hashed value cannot be mistaken for a plain one.
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(escaped), hash);
        return key.Append('#').Append(Convert.ToHexStringLower(hash[..16]));
    }

    /// <summary>The escaped text of a bound value; a sequence is its escaped items joined by commas.</summary>
    internal static string Escape(object? value) => value switch
    {
        null => "",
        string text => Uri.EscapeDataString(text),
        IEnumerable items => string.Join(',', items.Cast<object?>().Select(Escape)),
        _ => Uri.EscapeDataString(Format(value)),
    };

    private static string Format(object value) => value switch
    {
        // Round-trip forms: the default ones drop fractions of a second.
        DateTime date => date.ToString("O", CultureInfo.InvariantCulture),
        DateTimeOffset date => date.ToString("O", CultureInfo.InvariantCulture),
        TimeOnly time => time.ToString("O", CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    private static string EscapeValues(StringValues values) => string.Join(',', values.Select(v => Uri.EscapeDataString(v ?? "")));

    /// <summary>One part of the key.</summary>
    internal abstract class Part
    {
        /// <summary>Appends <c>:name=value</c>; false if the request cannot be keyed safely.</summary>
        public abstract bool TryAppend(StringBuilder key, EndpointFilterInvocationContext context);
    }

    /// <summary>
    /// A bound argument, or a member of an <c>[AsParameters]</c> argument reached through <paramref name="path"/>:
    /// <c>:{name}={value}</c>, with null as an empty value (the format the cache has always used).
    /// </summary>
    internal sealed class ArgumentPart(string name, int index, PropertyInfo[] path) : Part
    {
        public override bool TryAppend(StringBuilder key, EndpointFilterInvocationContext context)
        {
            var value = context.Arguments[index];
            foreach (var property in path)
                value = value is null ? null : property.GetValue(value);
            AppendValue(key.Append(':').Append(name), Escape(value));
            return true;
        }
    }

    /// <summary>A declared source of request values: <c>:@{source}.{name}={values}</c>, with no <c>=</c> when absent.</summary>
    internal sealed class DeclaredPart(string source, string name, Func<HttpRequest, string, StringValues> read) : Part
    {
        private readonly string _prefix = $":@{source}.{Uri.EscapeDataString(name.ToLowerInvariant())}";

        public static DeclaredPart Header(string name) => new("header", name, (request, n) => request.Headers[n]);

        public static DeclaredPart Query(string name) => new("query", name, (request, n) => request.Query[n]);

        public static DeclaredPart Route(string name) => new("route", name, (request, n) =>
            request.RouteValues.TryGetValue(n, out var value) && value is not null
                ? new StringValues(Convert.ToString(value, CultureInfo.InvariantCulture))
                : StringValues.Empty);

        public override bool TryAppend(StringBuilder key, EndpointFilterInvocationContext context)
        {
            var values = read(context.HttpContext.Request, name);
            key.Append(_prefix);
            if (values.Count > 0)
                AppendValue(key, EscapeValues(values));
            return true;
        }
    }

    /// <summary>
    /// The user: <c>:@user={issuer}|{id}</c> from the <c>NameIdentifier</c> claim, else the name claim; <c>:@anon</c>
    /// when no identity is authenticated. The issuer keeps equal ids from two identity providers apart.
    /// </summary>
    internal sealed class UserPart : Part
    {
        public override bool TryAppend(StringBuilder key, EndpointFilterInvocationContext context)
        {
            var user = context.HttpContext.User;
            if (!user.Identities.Any(identity => identity.IsAuthenticated))
            {
                key.Append(":@anon");
                return true;
            }

            if (Identifier(user) is not { } claim)
                return false;
            AppendValue(key.Append(":@user"), Uri.EscapeDataString(claim.Issuer) + "|" + Uri.EscapeDataString(claim.Value));
            return true;
        }

        private static Claim? Identifier(ClaimsPrincipal user)
        {
            foreach (var identity in user.Identities.Where(identity => identity.IsAuthenticated))
            {
                if (identity.FindFirst(ClaimTypes.NameIdentifier) is { Value.Length: > 0 } id)
                    return id;
            }

            foreach (var identity in user.Identities.Where(identity => identity.IsAuthenticated))
            {
                if (identity.FindFirst(identity.NameClaimType) is { Value.Length: > 0 } name)
                    return name;
            }

            return null;
        }
    }
}
