using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace CacheFlow.Api.Tests.Contract;

/// <summary>The rules that depend on the real server (Kestrel), not the in-process test server: HEAD, charsets, body limits.</summary>
public sealed class KestrelContractTests
{
    [Fact]
    public async Task OnKestrelHeadHasNoBodyAndBadBodiesAreProblems()
    {
        var data = Directory.CreateTempSubdirectory("cacheflow-contract-");
        try
        {
            using var api = await ApiProcess.StartAsync(new Dictionary<string, string>
            {
                ["Storage:DataDirectory"] = data.FullName,
                ["Storage:SeedUsers"] = "20",
                ["Admin:ApiKey"] = ApiFactory.AdminKey,
                // Not about timeouts: on a busy machine the first call to a cold embedded Garnet (and the start-up
                // warming competing with it) can outlast the default second, and the read would bypass the cache.
                ["Warming:OnStartup"] = "false",
                ["CacheFlow:RedisTimeout"] = "00:00:10",
            });
            var client = api.Client;

            // A body after a HEAD answer would be read as the next answer on this keep-alive connection.
            var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/users/1"), TestContext.Current.CancellationToken);
            var get = await client.GetAsync("/users/1", TestContext.Current.CancellationToken);
            Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (head.StatusCode, get.StatusCode));
            Assert.Empty(await head.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
            Assert.Equal("HIT", get.XCache());
            Assert.Equal(1, (long)(await get.JsonAsync())["id"]!);

            var bogus = new ByteArrayContent(Encoding.UTF8.GetBytes("{\"username\":\"valid_name\",\"email\":\"a@b.co\"}"));
            bogus.Headers.ContentType = MediaTypeHeaderValue.Parse("application/json; charset=bogus");
            await (await client.PostAsync("/users", bogus, TestContext.Current.CancellationToken)).ProblemAsync(HttpStatusCode.UnsupportedMediaType);

            // Chunked, so no Content-Length announces it: Kestrel stops it at 64 KiB as it is read.
            var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes("{\"username\":\"" + new string('a', 70_000) + "\"}")));
            chunked.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var tooLarge = new HttpRequestMessage(HttpMethod.Post, "/users") { Content = chunked };
            tooLarge.Headers.TransferEncodingChunked = true;
            var problem = await (await client.SendAsync(tooLarge, TestContext.Current.CancellationToken)).ProblemAsync(HttpStatusCode.RequestEntityTooLarge);
            Assert.Equal("The request body is larger than 65536 bytes.", (string)problem["detail"]!);

            // A NUL in the path never reaches the API: Kestrel answers 400 itself, as the document says for every
            // operation with a path parameter, and nothing is counted or removed.
            var checker = await OpenApiChecker.LoadAsync(client);
            var logins = (long)(await (await client.GetAsync("/users/1", TestContext.Current.CancellationToken)).JsonAsync())["login_count"]!;
            foreach (var row in HostileRequests.NulInThePath)
            {
                using var request = new HttpRequestMessage(new HttpMethod(row.Method), row.Path);
                if (row.Admin)
                    request.Headers.Add("X-Api-Key", ApiFactory.AdminKey);
                var refused = await client.SendAsync(request, TestContext.Current.CancellationToken);
                var text = await refused.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
                Assert.True((int)refused.StatusCode == row.Expected, $"{row.Name}: {(int)refused.StatusCode} {text}");
                Assert.DoesNotContain("Exception", text, StringComparison.Ordinal);
                if (checker.Find(row.Method, row.Path) is not null)
                    Assert.Empty(checker.CheckResponse(row.Method, row.Path, refused, text));
            }

            var after = await client.GetAsync("/users/1", TestContext.Current.CancellationToken);
            Assert.Equal("HIT", after.XCache());
            Assert.Equal(logins, (long)(await after.JsonAsync())["login_count"]!);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }
}
