using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CacheFlow.Api.Data;
using Microsoft.Extensions.DependencyInjection;

namespace CacheFlow.Api.Tests;

/// <summary>The Users API contract and its caching, run on both storage pairs.</summary>
public abstract class UsersApiTests(IApiStack stack)
{
    private HttpClient Client => stack.Api.CreateClient();

    [Fact]
    public async Task GetUserIsAMissThenAHit()
    {
        var client = Client;
        var first = await client.GetAsync("/users/11");
        var second = await client.GetAsync("/users/11");

        Assert.Equal(("MISS", "HIT"), (first.XCache(), second.XCache()));
        var user = await second.JsonAsync();
        Assert.Equal((await first.JsonAsync()).ToJsonString(), user.ToJsonString());
        Assert.Equal(11, (long)user["id"]!);
        Assert.Equal("user00011", (string)user["username"]!);
        foreach (var field in new[] { "email", "is_active", "login_count", "created_at" })
            Assert.NotNull(user[field]);
    }

    [Fact]
    public async Task ListPageIsAMissThenAHitAndTheDefaultsShareItsEntry()
    {
        var client = Client;
        var first = await client.GetAsync("/users?page=1&limit=20");
        var second = await client.GetAsync("/users");

        Assert.Equal(("MISS", "HIT"), (first.XCache(), second.XCache()));
        var page = await second.JsonAsync();
        Assert.Equal((1, 20), ((int)page["page"]!, (int)page["limit"]!));
        Assert.True((long)page["total"]! >= ApiFactory.SeedUsers - 5);
        var ids = page["users"]!.AsArray().Select(u => (long)u!["id"]!).ToList();
        Assert.Equal(20, ids.Count);
        Assert.Equal(ids.Order(), ids);
    }

    [Fact]
    public async Task AfterPatchTheUserAndEveryListPageHoldingItAreReloaded()
    {
        var client = Client;
        await client.GetAsync("/users/5");
        await client.GetAsync("/users?page=1&limit=10");
        await client.GetAsync("/users?page=2&limit=3");
        Assert.Equal("HIT", (await client.GetAsync("/users/5")).XCache());
        Assert.Equal("HIT", (await client.GetAsync("/users?page=1&limit=10")).XCache());

        var email = $"patched-{Guid.NewGuid():N}@example.com";
        await (await client.PatchAsJsonAsync("/users/5", new { email })).JsonAsync();

        var user = await client.GetAsync("/users/5");
        var page = await client.GetAsync("/users?page=1&limit=10");
        var otherPage = await client.GetAsync("/users?page=2&limit=3");
        Assert.Equal(("MISS", "MISS", "MISS"), (user.XCache(), page.XCache(), otherPage.XCache()));
        Assert.Equal(email, (string)(await user.JsonAsync())["email"]!);
        Assert.Contains((await page.JsonAsync())["users"]!.AsArray(), u => (string)u!["email"]! == email);
    }

    [Fact]
    public async Task CreateWritesThroughSoTheFirstReadIsAHitWithTheCommittedRow()
    {
        var client = Client;
        var username = NewUsername();
        var created = await client.PostAsJsonAsync("/users", new { username, email = $"{username}@Example.com" });
        var body = await created.JsonAsync(HttpStatusCode.Created);

        var read = await client.GetAsync(created.Headers.Location);

        Assert.Equal("HIT", read.XCache());
        Assert.Equal(body.ToJsonString(), (await read.JsonAsync()).ToJsonString());
        Assert.Equal($"{username}@example.com", (string)body["email"]!);
        Assert.True((bool)body["is_active"]!);
        Assert.Equal(0, (long)body["login_count"]!);
    }

    [Fact]
    public async Task DeleteRemovesTheUserFromItsKeyAndFromTheListPages()
    {
        var client = Client;
        var username = NewUsername();
        var id = (long)(await (await client.PostAsJsonAsync("/users", new { username, email = $"{username}@example.com" })).JsonAsync(HttpStatusCode.Created))["id"]!;
        var before = await (await client.GetAsync("/users?page=1&limit=100")).JsonAsync();
        Assert.Contains(before["users"]!.AsArray(), u => (long)u!["id"]! == id);
        await client.GetAsync($"/users/{id}");

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/users/{id}")).StatusCode);

        await (await client.GetAsync($"/users/{id}")).ProblemAsync(HttpStatusCode.NotFound);
        var after = await client.GetAsync("/users?page=1&limit=100");
        Assert.Equal("MISS", after.XCache());
        var page = await after.JsonAsync();
        Assert.DoesNotContain(page["users"]!.AsArray(), u => (long)u!["id"]! == id);
        Assert.Equal((long)before["total"]! - 1, (long)page["total"]!);
    }

    [Fact]
    public async Task NotFoundIsCachedUntilThatUserIsCreated()
    {
        var client = Client;
        var username = NewUsername();
        var last = (long)(await (await client.PostAsJsonAsync("/users", new { username, email = $"{username}@example.com" })).JsonAsync(HttpStatusCode.Created))["id"]!;
        var next = last + 1;
        var loadsBefore = (long)(await StatsAsync(client))["families"]!["user"]!["loads"]!;

        var first = await client.GetAsync($"/users/{next}");
        var second = await client.GetAsync($"/users/{next}");
        await first.ProblemAsync(HttpStatusCode.NotFound);
        await second.ProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(("MISS", "HIT"), (first.XCache(), second.XCache()));
        Assert.Equal(loadsBefore + 1, (long)(await StatsAsync(client))["families"]!["user"]!["loads"]!);

        var created = await (await client.PostAsJsonAsync("/users", new { username = username + "n", email = $"{username}n@example.com" })).JsonAsync(HttpStatusCode.Created);
        Assert.Equal(next, (long)created["id"]!);
        var found = await client.GetAsync($"/users/{next}");
        Assert.Equal("HIT", found.XCache());
        Assert.Equal(username + "n", (string)(await found.JsonAsync())["username"]!);
    }

    [Fact]
    public async Task AQueuedCreateAndALoginGoThroughRedisToTheDatabase()
    {
        var client = Client;
        var username = NewUsername();
        var accepted = await (await client.PostAsJsonAsync("/users/async", new { username, email = $"{username}@example.com" })).JsonAsync(HttpStatusCode.Accepted);
        JsonNode status;
        var attempts = 0;
        do
        {
            await Task.Delay(20, TestContext.Current.CancellationToken);
            status = await (await client.GetAsync((string)accepted["status_url"]!)).JsonAsync();
        }
        while ((string)status["status"]! == "pending" && ++attempts < 500);

        Assert.True((string)status["status"]! == "done", status.ToJsonString());
        var id = (long)status["user_id"]!;
        Assert.Equal(1, (long)(await (await client.PostAsync($"/users/{id}/logins", null)).JsonAsync())["login_count"]!);
        var user = await client.GetAsync($"/users/{id}");
        Assert.Equal(("HIT", 1L), (user.XCache(), (long)(await user.JsonAsync())["login_count"]!));
    }

    [Fact]
    public async Task LoadsRiseByOneForAMissAndNotForAHit()
    {
        var client = Client;
        var start = await StatsAsync(client);

        Assert.Equal("MISS", (await client.GetAsync("/users/13")).XCache());
        var afterMiss = await StatsAsync(client);
        Assert.Equal("HIT", (await client.GetAsync("/users/13")).XCache());
        var afterHit = await StatsAsync(client);

        Assert.Equal(Loads(start) + 1, Loads(afterMiss));
        Assert.Equal(Loads(afterMiss), Loads(afterHit));
        Assert.Equal((long)afterMiss["cache_stats"]!["hits"]! + 1, (long)afterHit["cache_stats"]!["hits"]!);
        Assert.EndsWith("%", (string)afterHit["cache_stats"]!["hit_ratio"]!);
        Assert.True((long)afterHit["families"]!["user"]!["hits"]! >= 1);

        static long Loads(JsonNode stats) => (long)stats["cache_stats"]!["loads"]!;
    }

    [Fact]
    public async Task StatsShowTheRedisServersOwnFigures()
    {
        var client = Client;
        await client.GetAsync("/users/14");
        await client.GetAsync("/users/14");

        // Garnet samples its figures once a second (--metrics-sampling-freq 1): poll, bounded, until they include ours.
        var redis = (await StatsAsync(client))["redis_stats"]!;
        for (var polls = 0; polls < 50 && (long)redis["keyspace_hits"]! < 1; polls++)
        {
            await Task.Delay(100, TestContext.Current.CancellationToken);
            redis = (await StatsAsync(client))["redis_stats"]!;
        }

        Assert.True((bool)redis["available"]!);
        Assert.Equal(stack.RedisServerName, (string)redis["server"]!);
        Assert.True((long)redis["keyspace_hits"]! >= 1, redis.ToJsonString());
        Assert.True((long)redis["keyspace_misses"]! >= 1, redis.ToJsonString());
        Assert.True((long)redis["keys"]! >= 1);
        Assert.True((long)redis["total_commands_processed"]! >= 1);
        Assert.True((long)redis["connected_clients"]! >= 1);
        Assert.True((long)redis["used_memory"]! > 0);
    }

    [Theory]
    [InlineData("GET", "/users/abc", null, null, 400)]
    [InlineData("GET", "/users/-1", null, null, 400)]
    [InlineData("GET", "/users/0", null, null, 400)]
    [InlineData("GET", "/users/99999999", null, null, 404)]
    [InlineData("GET", "/users?page=0", null, null, 400)]
    [InlineData("GET", "/users?page=abc", null, null, 400)]
    [InlineData("GET", "/users?limit=0", null, null, 400)]
    [InlineData("GET", "/users?limit=101", null, null, 400)]
    [InlineData("POST", "/users", "{\"username\":", "application/json", 400)]
    [InlineData("POST", "/users", "[]", "application/json", 400)]
    [InlineData("POST", "/users", "{\"username\":5,\"email\":\"a@b.co\"}", "application/json", 400)]
    [InlineData("POST", "/users", "", "application/json", 400)]
    [InlineData("POST", "/users", "{}", "application/json", 400)]
    [InlineData("POST", "/users", "{\"username\":\"ab\",\"email\":\"ab@example.com\"}", "application/json", 400)]
    [InlineData("POST", "/users", "{\"username\":\"valid_name\",\"email\":\"not-an-email\"}", "application/json", 400)]
    [InlineData("POST", "/users", "{\"username\":\"valid_name\",\"email\":\"a@b.co\"}", "text/plain", 415)]
    [InlineData("PATCH", "/users/1", "{}", "application/json", 400)]
    [InlineData("PATCH", "/users/1", "{\"email\":\"nope\"}", "application/json", 400)]
    [InlineData("PATCH", "/users/99999999", "{\"is_active\":false}", "application/json", 404)]
    [InlineData("DELETE", "/users/99999999", null, null, 404)]
    [InlineData("DELETE", "/users/x", null, null, 400)]
    [InlineData("POST", "/users/async", "{\"username\":", "application/json", 400)]
    [InlineData("POST", "/users/async", "{}", "application/json", 400)]
    [InlineData("POST", "/users/async", "{\"username\":\"ab\",\"email\":\"ab@example.com\"}", "application/json", 400)]
    [InlineData("POST", "/users/async", "{\"username\":\"valid_name\",\"email\":\"a@b.co\"}", "text/plain", 415)]
    [InlineData("POST", "/users/async", "{\"username\":\"user00001\",\"email\":\"fresh@example.com\"}", "application/json", 409)]
    [InlineData("GET", "/users/async/no-such-request", null, null, 404)]
    [InlineData("POST", "/users/abc/logins", null, null, 400)]
    [InlineData("POST", "/users/0/logins", null, null, 400)]
    [InlineData("POST", "/users/99999999/logins", null, null, 404)]
    [InlineData("GET", "/users/top?limit=0", null, null, 400)]
    [InlineData("GET", "/users/top?limit=101", null, null, 400)]
    [InlineData("GET", "/cache/dead-letters", null, null, 401)]
    public async Task BadInputGetsAProblemWithTheRightStatus(string method, string path, string? body, string? contentType, int status)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
            request.Content = new StringContent(body, System.Text.Encoding.UTF8, contentType!);

        await (await Client.SendAsync(request)).ProblemAsync((HttpStatusCode)status);
    }

    [Fact]
    public async Task ABodyOver64KiBIsRefusedWith413()
    {
        var username = NewUsername();
        var oversized = new { username, email = $"{username}@example.com", padding = new string('x', 70 * 1024) };

        await (await Client.PostAsJsonAsync("/users", oversized)).ProblemAsync(HttpStatusCode.RequestEntityTooLarge);

        Assert.Equal(0, await CountUsernameAsync(username));
    }

    [Fact]
    public async Task DuplicateUsernameOrEmailIsAConflictAndWritesNothing()
    {
        var client = Client;
        var username = NewUsername();
        await (await client.PostAsJsonAsync("/users", new { username, email = $"{username}@example.com" })).JsonAsync(HttpStatusCode.Created);

        var sameName = await (await client.PostAsJsonAsync("/users", new { username, email = $"other-{username}@example.com" })).ProblemAsync(HttpStatusCode.Conflict);
        var sameEmail = await (await client.PostAsJsonAsync("/users", new { username = username + "x", email = $"{username.ToUpperInvariant()}@EXAMPLE.com" })).ProblemAsync(HttpStatusCode.Conflict);
        var renamed = await (await client.PatchAsJsonAsync("/users/2", new { username })).ProblemAsync(HttpStatusCode.Conflict);

        Assert.Equal(("username", "email", "username"), ((string)sameName["field"]!, (string)sameEmail["field"]!, (string)renamed["field"]!));
        Assert.Equal(1, await CountUsernameAsync(username));
        Assert.Equal(0, await CountUsernameAsync(username + "x"));
        Assert.Equal("user00002", (string)(await (await client.GetAsync("/users/2")).JsonAsync())["username"]!);
    }

    [Fact]
    public async Task HealthEndpointsAnswer()
    {
        var client = Client;
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        var ready = await (await client.GetAsync("/health/ready")).JsonAsync();
        Assert.Equal("Healthy", (string)ready["status"]!);
        // Each check says what it found: the durable data's Redis, for one, with the settings it was checked for.
        Assert.Equal(["redis", "database", "warming", "durable_data", "background"], ready["checks"]!.AsObject().Select(c => c.Key));
        Assert.Equal("Healthy", (string)ready["checks"]!["durable_data"]!["status"]!);
        Assert.Contains("appendonly yes", (string)ready["checks"]!["durable_data"]!["description"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheOpenApiDocumentDescribesTheEndpoints()
    {
        var document = await (await Client.GetAsync("/openapi/v1.json")).JsonAsync();
        var paths = document["paths"]!.AsObject();
        foreach (var path in new[] { "/users/{id}", "/users", "/cache/stats" })
            Assert.True(paths.ContainsKey(path), path);
        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync("/docs/index.html")).StatusCode);
    }

    private static string NewUsername() => "u" + Guid.NewGuid().ToString("N")[..16];

    private static async Task<JsonNode> StatsAsync(HttpClient client) => await (await client.GetAsync("/cache/stats")).JsonAsync();

    /// <summary>Counts users with a username in the database itself, not through the cache.</summary>
    private async Task<int> CountUsernameAsync(string username)
    {
        var users = stack.Api.Services.GetRequiredService<IUserRepository>();
        var count = 0;
        for (var page = 1; ; page++)
        {
            var listed = await users.ListAsync(page, 100, CancellationToken.None);
            count += listed.Users.Count(u => u.Username == username);
            if (listed.Users.Count < 100)
                return count;
        }
    }
}

public sealed class EmbeddedUsersApiTests(EmbeddedStack stack) : UsersApiTests(stack), IClassFixture<EmbeddedStack>;

public sealed class ServerUsersApiTests(ServerStack stack) : UsersApiTests(stack), IClassFixture<ServerStack>;

public sealed class ClusterUsersApiTests(ClusterStack stack) : UsersApiTests(stack), IClassFixture<ClusterStack>;
