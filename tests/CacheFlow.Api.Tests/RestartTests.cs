using System.Net;
using System.Net.Http.Json;

namespace CacheFlow.Api.Tests;

public sealed class RestartTests
{
    [Fact]
    public async Task TheEmbeddedAppRestartedOnTheSameDataFolderFindsTheUsersItCreated()
    {
        var data = Directory.CreateTempSubdirectory("cacheflow-restart-");
        try
        {
            var username = "u" + Guid.NewGuid().ToString("N")[..16];
            string location;
            await using (var first = new ApiFactory(data.FullName))
            {
                var created = await first.CreateClient().PostAsJsonAsync("/users", new { username, email = $"{username}@example.com" });
                await created.JsonAsync(HttpStatusCode.Created);
                location = created.Headers.Location!.ToString();
            }

            await using var second = new ApiFactory(data.FullName);
            var client = second.CreateClient();
            var read = await (await client.GetAsync(location)).JsonAsync();
            var page = await (await client.GetAsync("/users?page=1&limit=1")).JsonAsync();

            Assert.Equal(username, (string)read["username"]!);
            Assert.Equal(ApiFactory.SeedUsers + 1, (long)page["total"]!);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }
}
