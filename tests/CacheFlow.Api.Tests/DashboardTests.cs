using CacheFlow.Testing;
using Microsoft.Playwright;

namespace CacheFlow.Api.Tests;

/// <summary>The dashboard in a real browser (Debian's Chromium driven by Playwright) against the API as a child process.</summary>
public sealed class DashboardTests
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task TheDashboardDrawsLiveChartsAndInvalidatesAUser()
    {
        if (!File.Exists(Chromium))
        {
            ServerRequirement.Unavailable("Chromium is not installed (apt-get install chromium)");
            return;
        }

        var data = Directory.CreateTempSubdirectory("cacheflow-dashboard-");
        try
        {
            using var api = await ApiProcess.StartAsync(new Dictionary<string, string>
            {
                ["Storage:DataDirectory"] = data.FullName,
                ["Storage:SeedUsers"] = "200",
                ["Admin:ApiKey"] = ApiFactory.AdminKey,
            });
            await api.Client.GetAsync("/users/150");
            Assert.Equal("HIT", (await api.Client.GetAsync("/users/150")).XCache());
            // Traffic while the page is open (users 1-20, never the one the test invalidates), bounded in time.
            using var stopTraffic = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var traffic = Task.Run(async () =>
            {
                for (var i = 0; !stopTraffic.IsCancellationRequested; i++)
                {
                    await api.Client.GetAsync($"/users/{(i % 20) + 1}", stopTraffic.Token);
                    await Task.Delay(5, stopTraffic.Token);
                }
            });

            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Chromium,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            });
            var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 1400 } });
            page.Dialog += async (_, dialog) => await dialog.AcceptAsync(ApiFactory.AdminKey);
            var console = new System.Collections.Concurrent.ConcurrentQueue<string>();
            page.Console += (_, message) => console.Enqueue(message.Text);
            page.PageError += (_, error) => console.Enqueue(error);

            await page.GotoAsync(api.Client.BaseAddress!.ToString());
            try
            {
                await page.WaitForFunctionAsync("() => Number(document.body.dataset.points ?? 0) >= 4", null, new PageWaitForFunctionOptions { Timeout = 30_000 });
            }
            catch (TimeoutException)
            {
                Assert.Fail($"The charts did not draw; the page said: {string.Join(" | ", console)}; points: {await page.EvaluateAsync<string>("() => document.body.dataset.points")}");
            }
            await page.FillAsync("#invalidate-id", "150");
            await page.ClickAsync("#invalidate");
            await page.WaitForFunctionAsync("() => document.getElementById('message').textContent === 'Invalidated user:150'", null, new PageWaitForFunctionOptions { Timeout = 10_000 });

            var screenshot = await page.ScreenshotAsync(new PageScreenshotOptions { FullPage = true });
            var artifacts = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "artifacts"));
            await File.WriteAllBytesAsync(Path.Combine(artifacts.FullName, "dashboard.png"), screenshot);
            TestContext.Current.AddAttachment("dashboard.png", screenshot, "image/png");
            Assert.Equal("MISS", (await api.Client.GetAsync("/users/150")).XCache());
            Assert.NotEqual("–", await page.TextContentAsync("#tile-ratio"));
            Assert.True(await page.Locator("#families tbody tr").CountAsync() >= 1);
            await stopTraffic.CancelAsync();
            await Task.WhenAny(traffic);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }
}
