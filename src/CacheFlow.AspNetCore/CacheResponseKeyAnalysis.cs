using System.Diagnostics.CodeAnalysis;
using System.IO.Pipelines;
using System.Reflection;
using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;

namespace CacheFlow.AspNetCore;

/// <summary>
/// Decides, when an endpoint is built, whether its cache key covers everything its handler binds, and builds that
/// key. Each parameter is classified in the order minimal APIs bind it:
/// <list type="bullet">
/// <item>a route or query value (<c>[FromRoute]</c>, <c>[FromQuery]</c>, or a string or parseable type): a key part
/// by name;</item>
/// <item><c>[FromHeader]</c>: its header must be declared with <see cref="CacheResponseVary.ByHeader"/>;</item>
/// <item><c>[AsParameters]</c>: each bound member, by the same rules, named <c>{parameter}.{member}</c>;</item>
/// <item><see cref="ClaimsPrincipal"/>: needs <see cref="CacheResponseVary.ByUser"/>; <c>HttpContext</c>,
/// <c>HttpRequest</c> and <c>BindAsync</c> types need <see cref="CacheResponseVary.AllowHttpContext"/>;</item>
/// <item>services, <see cref="CancellationToken"/>, <c>HttpResponse</c>: not part of the request, fine;</item>
/// <item>a body (<c>[FromBody]</c>, a stream, a complex type that is not a service) or a form: refused.</item>
/// </list>
/// Every refusal is gathered into one <see cref="InvalidOperationException"/> naming the endpoint and parameters.
/// </summary>
[RequiresUnreferencedCode(Reflection)]
internal sealed class CacheResponseKeyAnalysis
{
    /// <summary>Why the analysis is not trimming-safe.</summary>
    public const string Reflection = "CacheResponse reads the handler's parameter types by reflection (constructors, properties, TryParse and BindAsync methods), which trimming may remove, and serializes whatever the handler returns by its run-time type.";

    private readonly CacheResponseVary _vary;
    private readonly IServiceProviderIsService? _services;
    private readonly List<CacheResponseKey.Part> _parts = [];
    private readonly List<string> _refusals = [];

    private CacheResponseKeyAnalysis(CacheResponseVary vary, IServiceProviderIsService? services)
    {
        _vary = vary;
        _services = services;
    }

    /// <summary>The key of <paramref name="handler"/>'s responses, or an exception saying what the key cannot cover.</summary>
    /// <exception cref="InvalidOperationException">A parameter binds something the declared key does not cover.</exception>
    public static CacheResponseKey Analyze(string endpoint, string family, MethodInfo handler, CacheResponseVary vary, IServiceProvider applicationServices)
    {
        var analysis = new CacheResponseKeyAnalysis(vary, applicationServices.GetService<IServiceProviderIsService>());
        var parameters = handler.GetParameters();
        for (var index = 0; index < parameters.Length; index++)
        {
            var parameter = parameters[index];
            analysis.Classify(new Member(parameter.Name ?? $"#{index}", parameter.ParameterType, parameter.GetCustomAttributes(true), index, []));
        }

        if (analysis._refusals.Count > 0)
        {
            throw new InvalidOperationException(
                $"CacheResponse(\"{family}\") on endpoint '{endpoint}' would share one cached response between requests that differ: "
                + string.Join("; ", analysis._refusals) + ".");
        }

        analysis._parts.AddRange(vary.Headers.Select(CacheResponseKey.DeclaredPart.Header));
        analysis._parts.AddRange(vary.QueryKeys.Select(CacheResponseKey.DeclaredPart.Query));
        analysis._parts.AddRange(vary.RouteValues.Select(CacheResponseKey.DeclaredPart.Route));
        if (vary.User)
            analysis._parts.Add(new CacheResponseKey.UserPart());
        return new CacheResponseKey(family, analysis._parts);
    }

    private void Classify(Member member)
    {
        var attributes = member.Attributes;
        if (attributes.OfType<IFromRouteMetadata>().Any() || attributes.OfType<IFromQueryMetadata>().Any())
            AddValue(member);
        else if (attributes.OfType<IFromHeaderMetadata>().FirstOrDefault() is { } header)
            RequireHeader(member, header.Name ?? member.Name);
        else if (attributes.OfType<IFromBodyMetadata>().Any())
            Refuse(member, "binds the request body; a response that depends on a body cannot be cached by key");
        else if (attributes.OfType<IFromFormMetadata>().Any())
            Refuse(member, "binds the request form; a response that depends on a form cannot be cached by key");
        else if (attributes.OfType<IFromServiceMetadata>().Any() || attributes.OfType<FromKeyedServicesAttribute>().Any())
            return;
        else if (attributes.OfType<AsParametersAttribute>().Any())
            Expand(member);
        else
            ClassifyByType(member);
    }

    private void ClassifyByType(Member member)
    {
        var type = member.Type;
        if (type == typeof(HttpResponse) || type == typeof(CancellationToken))
            return;
        if (type == typeof(HttpContext) || type == typeof(HttpRequest))
            RequireHttpContext(member, $"is the {type.Name}, which can read any header, the user or the body");
        else if (type == typeof(ClaimsPrincipal))
        {
            if (!_vary.User)
                Refuse(member, "is the user (ClaimsPrincipal); vary by it with vary => vary.ByUser()");
        }
        else if (type == typeof(IFormFile) || type == typeof(IFormFileCollection) || type == typeof(IFormCollection))
            Refuse(member, "binds the request form; a response that depends on a form cannot be cached by key");
        else if (type == typeof(Stream) || type == typeof(PipeReader))
            Refuse(member, "reads the request body; a response that depends on a body cannot be cached by key");
        else if (HasBindAsync(type))
            RequireHttpContext(member, $"binds itself from the HttpContext ({type.Name}.BindAsync), which can read anything");
        else if (IsRouteOrQueryValue(type))
            AddValue(member);
        else if (_services?.IsService(type) == true)
            return;
        else
            Refuse(member, $"is read from the request body ({type.Name} is neither a parseable value nor a registered service); a response that depends on a body cannot be cached by key");
    }

    private void AddValue(Member member)
    {
        var type = ItemType(member.Type);
        if (type != typeof(string) && !type.IsEnum && !type.IsPrimitive && !OverridesToString(type))
        {
            Refuse(member, $"is a {type.Name}, which does not override ToString(), so the key cannot tell its values apart");
            return;
        }

        _parts.Add(new CacheResponseKey.ArgumentPart(member.Name, member.Index, member.Path));
    }

    private void RequireHeader(Member member, string header)
    {
        if (!_vary.Headers.Contains(header, StringComparer.OrdinalIgnoreCase))
            Refuse(member, $"binds the header '{header}'; vary by it with vary => vary.ByHeader(\"{header}\")");
    }

    private void RequireHttpContext(Member member, string what)
    {
        if (!_vary.HttpContextAllowed)
        {
            Refuse(member, $"{what}; declare everything the handler reads (ByHeader, ByQuery, ByRouteValue, ByUser) "
                + "and then vary => vary.AllowHttpContext()");
        }
    }

    /// <summary>
    /// The members an <c>[AsParameters]</c> type is bound through, as minimal APIs choose them: the parameters of its
    /// one public constructor, each read back through the property of the same name; otherwise (no constructor with
    /// parameters) its public settable properties.
    /// </summary>
    private void Expand(Member member)
    {
        var type = member.Type;
        var constructors = type.GetConstructors(BindingFlags.Public | BindingFlags.Instance);
        var constructor = constructors.Length == 1 ? constructors[0] : null;
        if (constructor is { } withParameters && withParameters.GetParameters().Length > 0)
        {
            foreach (var parameter in withParameters.GetParameters())
            {
                var property = type.GetProperty(parameter.Name!, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
                if (property?.GetMethod is null)
                {
                    Refuse(member.Child(parameter.Name!, parameter.ParameterType, [], null),
                        "has no public property of the same name, so its value cannot be read back for the key");
                    continue;
                }

                Classify(member.Child(parameter.Name!, parameter.ParameterType, [.. parameter.GetCustomAttributes(true), .. property.GetCustomAttributes(true)], property));
            }

            return;
        }

        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.SetMethod is { IsPublic: true } && property.GetMethod is not null && property.GetIndexParameters().Length == 0)
                Classify(member.Child(property.Name, property.PropertyType, property.GetCustomAttributes(true), property));
        }
    }

    private void Refuse(Member member, string reason) =>
        _refusals.Add($"parameter '{member.Name}' ({TypeName(member.Type)}) {reason}");

    private static Type ItemType(Type type)
    {
        if (type == typeof(StringValues))
            return typeof(string);
        if (type.IsArray)
            type = type.GetElementType()!;
        return Nullable.GetUnderlyingType(type) ?? type;
    }

    private static bool OverridesToString(Type type) =>
        type.GetMethod(nameof(ToString), Type.EmptyTypes)?.DeclaringType is { } declaring
            && declaring != typeof(object) && declaring != typeof(ValueType);

    private static bool IsRouteOrQueryValue(Type type)
    {
        type = ItemType(type);
        return type == typeof(string) || type.IsEnum || type == typeof(Uri) || HasTryParse(type);
    }

    private static bool HasTryParse(Type type) =>
        type.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IParsable<>) && i.GenericTypeArguments[0] == type)
        || type.GetMethods(BindingFlags.Public | BindingFlags.Static).Any(method =>
            method.Name == "TryParse" && method.ReturnType == typeof(bool)
            && method.GetParameters() is [{ ParameterType: var first }, .., { ParameterType: var last } output]
            && first == typeof(string) && output.IsOut && last.GetElementType() == type);

    private static bool HasBindAsync(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IBindableFromHttpContext<>))
            || type.GetMethods(BindingFlags.Public | BindingFlags.Static).Any(method =>
                method.Name == "BindAsync" && method.GetParameters() is [{ ParameterType: var first }, ..] && first == typeof(HttpContext));
    }

    private static string TypeName(Type type) =>
        Nullable.GetUnderlyingType(type) is { } underlying ? underlying.Name + "?" : type.Name;

    /// <summary>A handler parameter, or a member of an <c>[AsParameters]</c> one reached through <see cref="Path"/>.</summary>
    private sealed record Member(string Name, Type Type, object[] Attributes, int Index, PropertyInfo[] Path)
    {
        public Member Child(string name, Type type, object[] attributes, PropertyInfo? property) =>
            new($"{Name}.{name}", type, attributes, Index, property is null ? Path : [.. Path, property]);
    }
}
