using System.Text;

namespace CacheFlow.Api.Tests;

/// <summary>
/// One hostile request, named by its class: what is sent and the status it must get. <see cref="Probe"/> is a
/// username or email that must not exist afterwards; <see cref="Admin"/> sends the admin key.
/// </summary>
public sealed record HostileRequest(string Name, string Method, string Path, int Expected)
{
    public byte[]? Body { get; init; }

    public string? ContentType { get; init; }

    public bool Admin { get; init; }

    public IReadOnlyList<(string Name, string Value)> Headers { get; init; } = [];

    public string? Probe { get; init; }

    /// <summary>Everything the client sent that an error could echo: path, header values and body.</summary>
    public string Input => string.Concat(Path, string.Concat(Headers.Select(h => h.Value)), Body is null ? "" : Encoding.UTF8.GetString(Body));

    public override string ToString() => Name;
}

/// <summary>
/// The table of hostile requests (issue 12): ids, pages, bodies, fields, admin keys, methods, paths and headers that
/// a client may send on purpose or by mistake. Each gets its 4xx (or, for a glob that is matched literally, a harmless
/// 2xx), and none writes anything.
/// </summary>
public static class HostileRequests
{
    private const string Json = "application/json";
    private const string Valid = "\"email\":\"fresh-hostile@example.com\"";

    /// <summary>
    /// A NUL (<c>%00</c>) anywhere in the path: Kestrel refuses the request line with a bare 400 before the API sees it
    /// (ASP.NET Core's path decoder rejects a decoded NUL), so these are sent to a real Kestrel, not the in-process test
    /// server (whose client-side decoder throws on them).
    /// </summary>
    public static readonly IReadOnlyList<HostileRequest> NulInThePath =
    [
        new("nul/id", "GET", "/users/1%00", 400), new("nul/id-alone", "GET", "/users/%00", 400), new("nul/before-id", "DELETE", "/users/%001", 400),
        new("nul/login-id", "POST", "/users/1%00/logins", 400), new("nul/request-id", "GET", "/users/async/%00", 400),
        new("nul/unknown-path", "GET", "/nope%00", 400), new("nul/cache-key", "DELETE", "/cache/keys/user:1%00", 400) { Admin = true },
        new("nul/cache-tag", "DELETE", "/cache/tags/users:list%00", 400) { Admin = true }, new("nul/cache-prefix", "DELETE", "/cache/prefixes/%00user:", 400) { Admin = true },
    ];

    /// <summary>
    /// What the rows need to exist first (each sent before a row runs: a 201 the first time, a 409 after): a user
    /// whose email has an internationalized domain, for the rows that spell the same mailbox another way.
    /// </summary>
    public static readonly IReadOnlyList<HostileRequest> Given =
    [
        new("given/idn-user", "POST", "/users", 201) { Body = Utf8("{\"username\":\"hostile_idn\",\"email\":\"idn@b\u00fccher.de\"}"), ContentType = Json },
    ];

    public static readonly IReadOnlyList<HostileRequest> All = [.. Ids(), .. Pages(), .. Bodies(), .. Usernames(), .. Emails(), .. Fields(), .. WriteBehind(), .. AdminCalls(), .. Routing()];

    private static IEnumerable<HostileRequest> Ids()
    {
        (string Name, string Id)[] ids =
        [
            ("plus-sign", "+1"), ("leading-zero", "01"), ("overflow", "9223372036854775808"), ("huge", new string('9', 4000)),
            ("space", "%201"), ("trailing-space", "1%20"), ("tab", "%091"), ("newline", "1%0A"), ("unicode-space", "%E2%80%831"),
            ("unicode-minus", "%E2%88%921"), ("negative", "-1"), ("zero", "0"), ("hex", "0x1"), ("exponent", "1e3"), ("decimal", "1.0"), ("letters", "abc"),
            ("arabic-indic-digit", "%D9%A1"), ("fullwidth-digit", "%EF%BC%91"), ("sql-injection", "1%20OR%201%3D1"),
            ("control-soh", "%011"), ("escape", "1%1B"), ("delete-char", "1%7F"), ("c1-control", "1%C2%85"),
        ];
        foreach (var (name, id) in ids)
            yield return new($"id/{name}", "GET", $"/users/{id}", 400);
        yield return new("id/unknown", "GET", "/users/99999999", 404);
        yield return new("delete/plus-sign", "DELETE", "/users/+1", 400);
        yield return new("delete/leading-zero", "DELETE", "/users/01", 400);
        yield return new("delete/overflow", "DELETE", "/users/9223372036854775808", 400);
        yield return new("delete/negative", "DELETE", "/users/-2", 400);
        yield return new("delete/unknown", "DELETE", "/users/99999999", 404);
        yield return new("patch/plus-sign", "PATCH", "/users/+1", 400) { Body = Utf8("{\"is_active\":false}"), ContentType = Json };
        yield return new("patch/leading-zero", "PATCH", "/users/01", 400) { Body = Utf8("{\"is_active\":false}"), ContentType = Json };
        yield return new("logins/plus-sign", "POST", "/users/+3/logins", 400);
        yield return new("logins/leading-zero", "POST", "/users/03/logins", 400);
        yield return new("logins/zero", "POST", "/users/0/logins", 400);
        yield return new("logins/overflow", "POST", "/users/9223372036854775808/logins", 400);
        yield return new("logins/unknown-user", "POST", "/users/99999999/logins", 404);
    }

    private static IEnumerable<HostileRequest> Pages()
    {
        (string Name, string Query, int Expected)[] queries =
        [
            ("page/zero", "page=0", 400), ("page/negative", "page=-1", 400), ("page/huge", "page=99999999999", 400),
            ("page/past-the-last", "page=2147483647", 404), ("page/letters", "page=abc", 400), ("page/decimal", "page=1.5", 400),
            ("page/sql-injection", "page=1;DROP%20TABLE%20users", 400), ("page/4000-digits", "page=" + new string('9', 4000), 400),
            ("limit/0", "limit=0", 400), ("limit/101", "limit=101", 400), ("limit/negative", "limit=-5", 400),
            ("limit/huge", "limit=99999999999", 400), ("limit/letters", "limit=ten", 400), ("limit/both-bad", "page=0&limit=0", 400),
        ];
        foreach (var (name, query, expected) in queries)
            yield return new(name, "GET", $"/users?{query}", expected);
        yield return new("top/limit-0", "GET", "/users/top?limit=0", 400);
        yield return new("top/limit-101", "GET", "/users/top?limit=101", 400);
        yield return new("top/limit-negative", "GET", "/users/top?limit=-1", 400);
        yield return new("top/limit-letters", "GET", "/users/top?limit=x", 400);
    }

    private static IEnumerable<HostileRequest> Bodies()
    {
        (string Name, string Body, int Expected)[] bodies =
        [
            ("not-json", "username=ann&email=ann@example.com", 400), ("truncated-json", "{\"username\":\"hostile_trunc\",\"email\":", 400),
            ("deep-nesting", "{\"username\":" + new string('[', 5000) + new string(']', 5000) + "}", 400), ("array", "[]", 400),
            ("null", "null", 400), ("empty", "", 400), ("string", "\"hostile\"", 400), ("number", "42", 400),
            ("trailing-comma", "{\"username\":\"hostile_comma\"," + Valid + ",}", 400),
            ("comment", "{/* hi */\"username\":\"hostile_comment\"," + Valid + "}", 400),
            ("trailing-garbage", "{\"username\":\"hostile_garbage\"," + Valid + "} x", 400),
            ("two-objects", "{\"username\":\"hostile_two\"," + Valid + "}{}", 400),
            ("single-quotes", "{'username':'hostile_quote','email':'fresh-hostile@example.com'}", 400),
        ];
        foreach (var (name, body, expected) in bodies)
            yield return new($"body/{name}", "POST", "/users", expected) { Body = Utf8(body), ContentType = Json, Probe = "fresh-hostile@example.com" };

        var valid = "{\"username\":\"hostile_body\"," + Valid + "}";
        (string Name, string? ContentType, int Expected)[] types =
        [
            ("wrong-content-type", "text/plain", 415), ("form-content-type", "application/x-www-form-urlencoded", 415),
            ("xml-content-type", "application/xml", 415), ("no-content-type", null, 415),
            ("charset-utf7", "application/json; charset=utf-7", 415), ("charset-bogus", "application/json; charset=bogus", 415),
            ("charset-utf16", "application/json; charset=utf-16", 415), ("charset-latin1", "application/json; charset=iso-8859-1", 415),
            ("charset-huge", "application/json; charset=" + new string('x', 3000), 415),
            ("charset-empty", "application/json; charset=", 415), ("charset-empty-quoted", "application/json; charset=\"\"", 415),
            ("charset-without-value", "application/json; charset", 415), ("charset-utf8-then-bogus", "application/json; charset=utf-8; charset=bogus", 415),
        ];
        foreach (var (name, contentType, expected) in types)
            yield return new($"body/{name}", "POST", "/users", expected) { Body = Utf8(valid), ContentType = contentType, Probe = "hostile_body" };

        // Every spelling of UTF-8 is read as UTF-8: the body's too-short username is what is refused, not the charset (these were 500s).
        var shortName = "{\"username\":\"ho\"," + Valid + "}";
        foreach (var spelling in new[] { "utf8", "UTF8", "\"utf-8\"", "\"UTF-8\"", "\" utf-8 \"", "Utf-8" })
        {
            yield return new($"body/charset {spelling} is read", "POST", "/users", 400)
            {
                Body = Utf8(shortName), ContentType = $"application/json; charset={spelling}", Probe = "fresh-hostile@example.com",
            };
        }

        var padded = "{\"username\":\"hostile_big\"," + Valid + ",\"pad\":\"";
        yield return new("body/64KiB+1", "POST", "/users", 413)
        {
            Body = Utf8(padded + new string('a', 64 * 1024 + 1 - padded.Length - 2) + "\"}"), ContentType = Json, Probe = "hostile_big",
        };
        yield return new("body/invalid-utf8", "POST", "/users", 400)
        {
            Body = [.. Utf8("{\"username\":\"hostile_"), 0xFF, 0xFE, .. Utf8("\"," + Valid + "}")], ContentType = Json,
        };
        yield return new("body/overlong-utf8-nul", "POST", "/users", 400)
        {
            Body = [.. Utf8("{\"username\":\"hostile_"), 0xC0, 0x80, .. Utf8("\"," + Valid + "}")], ContentType = Json,
        };
    }

    private static IEnumerable<HostileRequest> Usernames()
    {
        (string Name, string Json, int Expected)[] usernames =
        [
            ("trailing-newline", "\"hostile_nl\\n\"", 400), ("leading-newline", "\"\\nhostile_nl\"", 400), ("nul", "\"hostile\\u0000nul\"", 400),
            ("tab", "\"hostile\\ttab\"", 400), ("33-chars", "\"" + new string('h', 33) + "\"", 400), ("2-chars", "\"ho\"", 400),
            ("empty", "\"\"", 400), ("4000-chars", "\"" + new string('h', 4000) + "\"", 400), ("space", "\"hostile name\"", 400),
            ("rlo", "\"hostile\\u202Ertl\"", 400), ("zero-width", "\"hostile\\u200Bzw\"", 400), ("bom", "\"\\uFEFFhostile_bom\"", 400),
            ("accented", "\"hostil\u00e9\"", 400), ("fullwidth", "\"\uFF48ostile\"", 400), ("emoji", "\"hostile\\uD83D\\uDE00\"", 400),
            ("lone-surrogate", "\"hostile\\uD800\"", 400), ("at-sign", "\"hostile@name\"", 400), ("slash", "\"hostile/name\"", 400),
            ("sql-injection", "\"a'; DROP TABLE users;--\"", 400), ("html", "\"<script>alert(1)</script>\"", 400),
            ("glob", "\"user*\"", 400), ("case-duplicate", "\"USER00001\"", 409), ("duplicate", "\"user00001\"", 409),
            ("number", "5", 400), ("bool", "true", 400), ("object", "{\"a\":1}", 400), ("array", "[\"hostile_arr\"]", 400),
        ];
        foreach (var (name, json, expected) in usernames)
        {
            yield return new($"username/{name}", "POST", "/users", expected)
            {
                Body = Utf8("{\"username\":" + json + "," + Valid + "}"), ContentType = Json, Probe = "fresh-hostile@example.com",
            };
        }
    }

    private static IEnumerable<HostileRequest> Emails()
    {
        (string Name, string Json, int Expected)[] emails =
        [
            ("nul", "\"hos\\u0000tile@example.com\"", 400), ("bidi", "\"hostile\\u202E@example.com\"", 400),
            ("zero-width", "\"hos\\u200Btile@example.com\"", 400), ("bell", "\"hos\\u0007tile@example.com\"", 400),
            ("private-use", "\"hos\\uE000tile@example.com\"", 400), ("unassigned", "\"hos\\u0378tile@example.com\"", 400),
            ("255-chars", "\"" + new string('h', 255 - 12) + "@example.com\"", 400),
            ("255-code-points-astral", "\"" + string.Concat(Enumerable.Repeat("\\uD83D\\uDE00", 255 - 12)) + "@example.com\"", 400),
            ("no-at", "\"hostile.example.com\"", 400), ("two-at", "\"hos@tile@example.com\"", 400), ("no-tld", "\"hostile@example\"", 400),
            ("space", "\"hostile @example.com\"", 400), ("trailing-newline", "\"hostile@example.com\\n\"", 400), ("empty", "\"\"", 400),
            ("sql-injection", "\"a@b.co'; DROP TABLE users;--\"", 400), ("number", "42", 400),
            ("duplicate", "\"user00002@example.com\"", 409), ("case-duplicate", "\"USER00002@EXAMPLE.COM\"", 409),
            ("c1-control", "\"hos\\u0085tile@example.com\"", 400), ("soft-hyphen in the domain", "\"hostile@exam\\u00ADple.com\"", 400),
            ("zero-width in the domain", "\"hostile@exam\\u200Bple.com\"", 400),
            // 255 code points as sent, 254 once composed: JSON Schema's maxLength counts as sent, and so does the server.
            ("255-code-points composing to 254", "\"e\\u0301" + new string('h', 255 - 2 - 12) + "@example.com\"", 400),
            ("idn A-label of an existing mailbox", "\"idn@xn--bcher-kva.de\"", 409), ("idn in capitals of an existing mailbox", "\"IDN@B\\u00DCCHER.DE\"", 409),
            ("fullwidth domain of an existing mailbox", "\"user00002@\\uFF45\\uFF58\\uFF41\\uFF4D\\uFF50\\uFF4C\\uFF45.com\"", 409),
            ("mixed-script domain (Cyrillic a)", "\"hostile@ex\\u0430mple.com\"", 400), ("mixed-script domain (Greek o)", "\"hostile@g\\u03BFogle.com\"", 400),
            ("mixed digits in a domain", "\"hostile@abc1\\u0663.com\"", 400), ("hyphen first in a label", "\"hostile@-example.com\"", 400),
            ("underscore in the domain", "\"hostile@ex_ample.com\"", 400), ("empty label", "\"hostile@example..com\"", 400),
        ];
        foreach (var (name, json, expected) in emails)
        {
            yield return new($"email/{name}", "POST", "/users", expected)
            {
                Body = Utf8("{\"username\":\"hostile_email\",\"email\":" + json + "}"), ContentType = Json, Probe = "hostile_email",
            };
        }
    }

    private static IEnumerable<HostileRequest> Fields()
    {
        (string Name, string Body)[] creates =
        [
            ("json/missing-username", "{" + Valid + "}"), ("json/missing-email", "{\"username\":\"hostile_json\"}"),
            ("json/null-username", "{\"username\":null," + Valid + "}"), ("json/null-email", "{\"username\":\"hostile_json\",\"email\":null}"),
            ("json/wrong-types (is_active: \"yes\")", "{\"username\":\"hostile_json\"," + Valid + ",\"is_active\":\"yes\"}"),
            ("json/wrong-types (is_active: 1)", "{\"username\":\"hostile_json\"," + Valid + ",\"is_active\":1}"),
            ("json/extra-fields only", "{\"id\":1,\"login_count\":1000000,\"created_at\":\"2000-01-01T00:00:00Z\"}"),
            ("json/misspelt-names", "{\"user_name\":\"hostile_json\",\"e-mail\":\"fresh-hostile@example.com\"}"),
            ("json/names-in-another-case", "{\"Username\":\"hostile_json\",\"EMAIL\":\"fresh-hostile@example.com\"}"),
            ("json/duplicate-username (the last is valid)", "{\"username\":\"bad name!\",\"username\":\"hostile_json\"," + Valid + "}"),
            ("json/duplicate-username (the first is valid)", "{\"username\":\"hostile_json\",\"username\":\"bad name!\"," + Valid + "}"),
            ("json/duplicate-username in another case", "{\"username\":\"hostile_json\",\"Username\":\"other_name\"," + Valid + "}"),
            ("json/is_active-null", "{\"username\":\"hostile_json\"," + Valid + ",\"is_active\":null}"),
            ("json/extra-field beside valid ones", "{\"username\":\"hostile_json\"," + Valid + ",\"nickname\":\"x\"}"),
            ("json/id beside valid fields", "{\"username\":\"hostile_json\"," + Valid + ",\"id\":1}"),
        ];
        foreach (var (name, body) in creates)
            yield return new(name, "POST", "/users", 400) { Body = Utf8(body), ContentType = Json, Probe = "hostile_json" };

        (string Name, string Body, int Expected)[] patches =
        [
            ("patch/empty-object", "{}", 400), ("patch/all-null", "{\"username\":null,\"email\":null,\"is_active\":null}", 400),
            ("patch/extra-fields only", "{\"id\":99,\"login_count\":1000000}", 400), ("patch/bad-email", "{\"email\":\"nope\"}", 400),
            ("patch/username-nul", "{\"username\":\"hostile\\u0000\"}", 400), ("patch/is_active-string", "{\"is_active\":\"no\"}", 400),
            ("patch/duplicate-username", "{\"username\":\"user00002\"}", 409), ("patch/case-duplicate-username", "{\"username\":\"USER00002\"}", 409),
            ("patch/duplicate-email", "{\"email\":\"User00002@Example.com\"}", 409), ("patch/array", "[]", 400),
            ("patch/is_active-null", "{\"is_active\":null}", 400), ("patch/username-null beside a field", "{\"username\":null,\"is_active\":false}", 400),
            ("patch/nickname only", "{\"nickname\":\"x\"}", 400), ("patch/nickname beside a field", "{\"nickname\":\"x\",\"is_active\":false}", 400),
            ("patch/is_active twice", "{\"is_active\":false,\"is_active\":true}", 400),
            ("patch/idn A-label of another user's mailbox", "{\"email\":\"idn@xn--bcher-kva.de\"}", 409),
        ];
        foreach (var (name, body, expected) in patches)
            yield return new(name, "PATCH", "/users/1", expected) { Body = Utf8(body), ContentType = Json };
        yield return new("patch/unknown-user", "PATCH", "/users/99999999", 404) { Body = Utf8("{\"is_active\":false}"), ContentType = Json };
        yield return new("patch/charset-bogus", "PATCH", "/users/1", 415) { Body = Utf8("{\"is_active\":false}"), ContentType = "application/json; charset=bogus" };
        yield return new("patch/charset-empty", "PATCH", "/users/1", 415) { Body = Utf8("{\"is_active\":false}"), ContentType = "application/json; charset=" };
        yield return new("patch/charset utf8 is read", "PATCH", "/users/1", 400) { Body = Utf8("{\"username\":\"ho\"}"), ContentType = "application/json; charset=utf8" };
    }

    private static IEnumerable<HostileRequest> WriteBehind()
    {
        (string Name, string Body, string ContentType, int Expected)[] creates =
        [
            ("async/username-newline", "{\"username\":\"hostile_async\\n\"," + Valid + "}", Json, 400),
            ("async/email-bidi", "{\"username\":\"hostile_async\",\"email\":\"a\\u202E@example.com\"}", Json, 400),
            ("async/truncated-json", "{\"username\":\"hostile_async\",", Json, 400), ("async/empty-object", "{}", Json, 400),
            ("async/charset-utf7", "{\"username\":\"hostile_async\"," + Valid + "}", "application/json; charset=utf-7", 415),
            ("async/wrong-content-type", "{\"username\":\"hostile_async\"," + Valid + "}", "text/plain", 415),
            ("async/duplicate", "{\"username\":\"user00003\",\"email\":\"fresh-hostile@example.com\"}", Json, 409),
            ("async/case-duplicate", "{\"username\":\"hostile_async\",\"email\":\"USER00003@example.com\"}", Json, 409),
            ("async/charset-empty", "{\"username\":\"hostile_async\"," + Valid + "}", "application/json; charset=\"\"", 415),
            ("async/charset \"UTF-8\" is read", "{\"username\":\"ho\"," + Valid + "}", "application/json; charset=\"UTF-8\"", 400),
            ("async/duplicate-username", "{\"username\":\"bad name!\",\"username\":\"hostile_async\"," + Valid + "}", Json, 400),
            ("async/is_active-null", "{\"username\":\"hostile_async\"," + Valid + ",\"is_active\":null}", Json, 400),
            ("async/extra-field", "{\"username\":\"hostile_async\"," + Valid + ",\"nickname\":\"x\"}", Json, 400),
            ("async/mixed-script domain", "{\"username\":\"hostile_async\",\"email\":\"hostile@ex\\u0430mple.com\"}", Json, 400),
            ("async/idn A-label of an existing mailbox", "{\"username\":\"hostile_async\",\"email\":\"idn@xn--bcher-kva.de\"}", Json, 409),
        ];
        foreach (var (name, body, contentType, expected) in creates)
            yield return new(name, "POST", "/users/async", expected) { Body = Utf8(body), ContentType = contentType, Probe = "hostile_async" };
        yield return new("async/unknown-request-id", "GET", "/users/async/0190a5b2c3d4e5f60718293a4b5c6d7e", 404);
        yield return new("async/huge-request-id", "GET", "/users/async/" + new string('r', 4000), 404);
        yield return new("async/glob-request-id", "GET", "/users/async/*", 404);
        yield return new("async/space-request-id", "GET", "/users/async/a%20b", 404);
    }

    private static IEnumerable<HostileRequest> AdminCalls()
    {
        (string Method, string Path)[] calls =
        [
            ("POST", "/cache/warm"), ("DELETE", "/cache/keys/user:1"), ("DELETE", "/cache/tags/users:list"), ("DELETE", "/cache/prefixes/*"),
            ("GET", "/cache/dead-letters"), ("POST", "/cache/dead-letters/requeue"), ("POST", "/cache/stats/reset"), ("POST", "/cache/demo-load"),
        ];
        foreach (var (method, path) in calls)
            yield return new($"admin/no-key {method} {path}", method, path, 401);
        (string Name, string Key)[] keys =
        [
            ("wrong-key", "wrong"), ("empty-key", ""), ("key-other-case", ApiFactory.AdminKey.ToUpperInvariant()),
            ("key-prefix", ApiFactory.AdminKey[..^1]), ("key-plus-suffix", ApiFactory.AdminKey + "x"), ("huge-key", new string('k', 16_000)),
        ];
        foreach (var (name, key) in keys)
            yield return new($"admin/{name}", "DELETE", "/cache/prefixes/user:", 401) { Headers = [("X-Api-Key", key)] };
        yield return new("admin/dead-letters-limit-0", "GET", "/cache/dead-letters?limit=0", 400) { Admin = true };
        yield return new("admin/dead-letters-limit-huge", "GET", "/cache/dead-letters?limit=99999999999", 400) { Admin = true };

        // With the key, glob characters are matched literally: nothing is removed.
        foreach (var prefix in new[] { "*", "user:*", "user:[0-9]", "user:%3F", "%5C*" })
            yield return new($"admin/glob prefix {Uri.UnescapeDataString(prefix)}", "DELETE", $"/cache/prefixes/{prefix}", 200) { Admin = true };
        foreach (var tag in new[] { "*", "users:*", "users:[a-z]*" })
            yield return new($"admin/glob tag {tag}", "DELETE", $"/cache/tags/{tag}", 200) { Admin = true };
        foreach (var key in new[] { "*", "user:*", "user:%3F" })
            yield return new($"admin/glob key {Uri.UnescapeDataString(key)}", "DELETE", $"/cache/keys/{key}", 204) { Admin = true };
    }

    private static IEnumerable<HostileRequest> Routing()
    {
        yield return new("method/not-allowed PUT /users/1", "PUT", "/users/1", 405) { Body = Utf8("{}"), ContentType = Json };
        yield return new("method/not-allowed DELETE /users", "DELETE", "/users", 405);
        yield return new("method/not-allowed PATCH /users", "PATCH", "/users", 405) { Body = Utf8("{\"is_active\":false}"), ContentType = Json };
        yield return new("method/not-allowed POST /users/1", "POST", "/users/1", 405) { Body = Utf8("{}"), ContentType = Json };
        yield return new("method/not-allowed GET /cache/warm", "GET", "/cache/warm", 405);
        yield return new("method/not-allowed GET /users/1/logins", "GET", "/users/1/logins", 405);
        // Paths of their own, not ids: another method is a 405 (these were 400 "invalid id").
        yield return new("method/not-allowed PATCH /users/top", "PATCH", "/users/top", 405) { Body = Utf8("{\"is_active\":false}"), ContentType = Json };
        yield return new("method/not-allowed DELETE /users/top", "DELETE", "/users/top", 405);
        yield return new("method/not-allowed DELETE /users/async", "DELETE", "/users/async", 405);
        yield return new("method/not-allowed GET /users/async", "GET", "/users/async", 405);
        yield return new("method/not-allowed PATCH /users/async", "PATCH", "/users/async", 405) { Body = Utf8("{\"is_active\":false}"), ContentType = Json };
        yield return new("path/unknown", "GET", "/nope", 404);
        yield return new("path/unknown under users", "GET", "/users/1/nope", 404);
        yield return new("path/traversal", "GET", "/users/..%2F..%2Fetc%2Fpasswd", 400);
        yield return new("path/double-slash id", "DELETE", "/users//1", 404);
        yield return new("path/control in a request id", "GET", "/users/async/0190%1B", 404);
        yield return new("path/control in a login id", "POST", "/users/1%7F/logins", 400);
        yield return new("header/huge-value on a bad id", "GET", "/users/+1", 400) { Headers = [("X-Hostile", new string('h', 16_000))] };
        yield return new("header/huge-cookie on a bad body", "POST", "/users", 400)
        {
            Headers = [("Cookie", "session=" + new string('c', 16_000))], Body = Utf8("{\"username\":\"ho\"," + Valid + "}"), ContentType = Json,
        };
        yield return new("header/many-headers on a bad page", "GET", "/users?page=0", 400)
        {
            Headers = [.. Enumerable.Range(0, 90).Select(i => ($"X-Hostile-{i}", new string('v', 100)))],
        };
        yield return new("header/accept-xml on a bad id", "GET", "/users/abc", 400) { Headers = [("Accept", "application/xml")] };
        yield return new("header/accept-xml on a bad page", "GET", "/users?page=0", 400) { Headers = [("Accept", "application/xml")] };
        yield return new("header/accept-xml on an unknown path", "GET", "/nope", 404) { Headers = [("Accept", "text/html")] };
        yield return new("header/accept-xml on a wrong method", "PUT", "/users/1", 405) { Headers = [("Accept", "application/xml")] };
        yield return new("header/accept-xml on a bad body", "POST", "/users", 400)
        {
            Headers = [("Accept", "application/xml")], Body = Utf8("{\"username\":"), ContentType = Json,
        };
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
