using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using CacheFlow.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace CacheFlow.Api.Tests;

/// <summary>
/// <c>.CacheResponse</c> keys by what the endpoint declares and refuses, at start, a handler binding what the key
/// does not cover. Each test runs a small app on TestServer over one embedded Garnet, under its own key prefix.
/// </summary>
public sealed class CacheResponseVaryTests(EmbeddedRedis redis) : IClassFixture<EmbeddedRedis>
{
    private const string UserHeader = "X-Test-User";

    private static readonly CacheEntryOptions Entry = new() { Duration = TimeSpan.FromMinutes(5) };

    [Fact]
    public async Task ByUserGivesEachUserTheirOwnCachedResponse()
    {
        await using var app = await StartAsync(app => app.MapGet("/me", (ClaimsPrincipal user) => TypedResults.Ok(new Echo(user.Identity?.Name ?? "anonymous")))
            .CacheResponse("me", Entry, vary => vary.ByUser()));
        var client = app.GetTestClient();

        var alice = await GetAsync(client, "/me", "alice");
        var bob = await GetAsync(client, "/me", "bob");
        var anonymous = await GetAsync(client, "/me");
        var aliceAgain = await GetAsync(client, "/me", "alice");

        Assert.Equal(("alice", "MISS"), alice);
        Assert.Equal(("bob", "MISS"), bob);
        Assert.Equal(("anonymous", "MISS"), anonymous);
        Assert.Equal(("alice", "HIT"), aliceAgain);
    }

    [Fact]
    public async Task ByHeaderGivesEachAcceptLanguageItsOwnCachedResponse()
    {
        await using var app = await StartAsync(app =>
        {
            // The header read through HttpRequest (which the key cannot see), and bound with [FromHeader].
            app.MapGet("/read", (HttpRequest request) => TypedResults.Ok(new Echo(request.Headers.AcceptLanguage.ToString())))
                .CacheResponse("read", Entry, vary => vary.ByHeader("Accept-Language").AllowHttpContext());
            app.MapGet("/bound", ([FromHeader(Name = "Accept-Language")] string? language) => TypedResults.Ok(new Echo(language ?? "")))
                .CacheResponse("bound", Entry, vary => vary.ByHeader("accept-language"));
        });
        var client = app.GetTestClient();

        foreach (var path in new[] { "/read", "/bound" })
        {
            var french = await GetAsync(client, path, language: "fr-FR");
            var german = await GetAsync(client, path, language: "de-DE");
            var frenchAgain = await GetAsync(client, path, language: "fr-FR");

            Assert.Equal(("fr-FR", "MISS"), french);
            Assert.Equal(("de-DE", "MISS"), german);
            Assert.Equal(("fr-FR", "HIT"), frenchAgain);
        }
    }

    [Fact]
    public async Task AsParametersMembersSplitTheKeyByName()
    {
        var prefix = Prefix();
        await using var app = await StartAsync(app => app.MapGet("/search", ([AsParameters] Search search) => TypedResults.Ok(new Echo($"{search.Name}/{search.Page}")))
            .CacheResponse("search", Entry));
        var client = app.GetTestClient();

        var a = await GetAsync(client, "/search?name=a&page=1");
        var b = await GetAsync(client, "/search?name=b&page=1");
        var aSecondPage = await GetAsync(client, "/search?name=a&page=2");
        var aAgain = await GetAsync(client, "/search?page=1&name=a");

        Assert.Equal(new[] { ("a/1", "MISS"), ("b/1", "MISS"), ("a/2", "MISS"), ("a/1", "HIT") }, new[] { a, b, aSecondPage, aAgain });
        Assert.Contains($"{prefix}{{search:search.Name=a:search.Page=1}}", await EntriesAsync(prefix));
    }

    [Fact]
    public async Task DeclaredValuesAreEscapedSoOneCannotForgeAnotherKeyAndLongOnesAreHashed()
    {
        var prefix = Prefix();
        await using var app = await StartAsync(app => app.MapGet("/ab", ([FromHeader(Name = "X-A")] string? a, [FromHeader(Name = "X-B")] string? b) => TypedResults.Ok(new Echo($"{a}|{b}")))
            .CacheResponse("ab", Entry, vary => vary.ByHeader("X-A").ByHeader("X-B")));
        var client = app.GetTestClient();

        // Unescaped, both would be ab:@header.x-a=1:@header.x-b=2:@header.x-b=3.
        var first = await GetAsync(client, "/ab", headers: [("X-A", "1:@header.x-b=2"), ("X-B", "3")]);
        var second = await GetAsync(client, "/ab", headers: [("X-A", "1"), ("X-B", "2:@header.x-b=3")]);
        await GetAsync(client, "/ab", headers: [("X-A", new string('a', 500))]);

        Assert.Equal(("1:@header.x-b=2|3", "MISS"), first);
        Assert.Equal(("1|2:@header.x-b=3", "MISS"), second);
        var keys = await EntriesAsync(prefix);
        Assert.Contains($"{prefix}{{ab:@header.x-a=1%3A%40header.x-b%3D2:@header.x-b=3}}", keys);
        // A long value becomes '#' and a hash; an absent header has no '='.
        Assert.Contains(keys, key => key.StartsWith($"{prefix}{{ab:@header.x-a=#", StringComparison.Ordinal)
            && key.EndsWith(":@header.x-b}", StringComparison.Ordinal) && key.Length - prefix.Length < 80);
    }

    [Fact]
    public async Task ClaimsPrincipalWithoutByUserIsRefusedAtStartNamingTheParameter()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(app =>
            app.MapGet("/me", (ClaimsPrincipal caller) => TypedResults.Ok(new Echo(caller.Identity?.Name ?? ""))).CacheResponse("me", Entry)));

        Assert.Contains("/me", error.Message, StringComparison.Ordinal);
        Assert.Contains("parameter 'caller' (ClaimsPrincipal)", error.Message, StringComparison.Ordinal);
        Assert.Contains("ByUser()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UndeclaredFromHeaderIsRefusedAtStartNamingTheParameterAndHeader()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(app =>
            app.MapGet("/hello", ([FromHeader(Name = "Accept-Language")] string? language) => TypedResults.Ok(new Echo(language ?? "")))
                .CacheResponse("hello", Entry, vary => vary.ByHeader("Accept"))));

        Assert.Contains("/hello", error.Message, StringComparison.Ordinal);
        Assert.Contains("parameter 'language' (String) binds the header 'Accept-Language'", error.Message, StringComparison.Ordinal);
        Assert.Contains("ByHeader(\"Accept-Language\")", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BodyIsRefusedAtStartEvenWithEverythingElseDeclared()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(app =>
            app.MapPost("/echo", ([FromBody] Echo echo) => TypedResults.Ok(echo))
                .CacheResponse("echo", Entry, vary => vary.ByUser().AllowHttpContext())));

        Assert.Contains("parameter 'echo' (Echo) binds the request body", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HttpContextIsRefusedUnlessTheEndpointVouchesForIt()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(app =>
            app.MapGet("/raw", (HttpContext context) => TypedResults.Ok(new Echo(context.Request.Path))).CacheResponse("raw", Entry)));

        Assert.Contains("parameter 'context' (HttpContext)", error.Message, StringComparison.Ordinal);
        Assert.Contains("AllowHttpContext()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutTheStartupCheckTheRefusalSurfacesAtTheFirstRequest()
    {
        await using var app = await StartAsync(app =>
            app.MapGet("/me", (ClaimsPrincipal caller) => TypedResults.Ok(new Echo(caller.Identity?.Name ?? ""))).CacheResponse("me", Entry),
            validateOnStart: false);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => app.GetTestClient().GetAsync(new Uri("/me", UriKind.Relative)));
        Assert.Contains("parameter 'caller' (ClaimsPrincipal)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListPageKeepsItsKeyAndTheApiPassesTheStartupCheck()
    {
        await using var hosts = new ApiHosts();
        var api = hosts.Start();

        var page = await api.CreateClient().GetAsync(new Uri("/users", UriKind.Relative));

        Assert.Equal("MISS", page.XCache());
        var db = api.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        Assert.True(await db.KeyExistsAsync("cf:{users:list:page=1:limit=20}"));
    }

    private async Task<WebApplication> StartAsync(Action<WebApplication> map, bool validateOnStart = true, [CallerMemberName] string test = "")
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddSingleton(redis.Redis);
        builder.Services.AddCacheFlow(options => options.KeyPrefix = Prefix(test));
        if (validateOnStart)
            builder.Services.AddCacheResponseValidation();
        var app = builder.Build();
        // Authentication stand-in: a header names the user, with the issuer cookie authentication gives its claims.
        app.Use((context, next) =>
        {
            if (context.Request.Headers[UserHeader] is [{ } name])
            {
                context.User = new ClaimsPrincipal(new ClaimsIdentity(
                    [new Claim(ClaimTypes.NameIdentifier, name), new Claim(ClaimTypes.Name, name)], authenticationType: "test"));
            }

            return next(context);
        });
        map(app);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return app;
    }

    private static async Task<(string Body, string XCache)> GetAsync(
        HttpClient client, string path, string? user = null, string? language = null, (string Name, string Value)[]? headers = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        if (user is not null)
            request.Headers.Add(UserHeader, user);
        if (language is not null)
            request.Headers.TryAddWithoutValidation("Accept-Language", language);
        foreach (var (name, value) in headers ?? [])
            request.Headers.TryAddWithoutValidation(name, value);
        using var response = await client.SendAsync(request);
        var echo = await response.Content.ReadFromJsonAsync<Echo>();
        return (echo!.Value, response.XCache());
    }

    private async Task<List<string>> EntriesAsync(string prefix) =>
        [.. (await redis.KeysAsync(prefix)).Where(key => key.EndsWith('}'))];

    private static string Prefix([CallerMemberName] string test = "") => $"vary:{test}:";

    /// <summary>What the test endpoints answer.</summary>
    public sealed record Echo(string Value);

    /// <summary>An <c>[AsParameters]</c> type bound from the query.</summary>
    public sealed record Search(string? Name, int Page = 1);
}
