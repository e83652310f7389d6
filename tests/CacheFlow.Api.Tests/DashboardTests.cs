using CacheFlow.Testing;
using Microsoft.Playwright;

namespace CacheFlow.Api.Tests;

/// <summary>The dashboard in a real browser (Debian's Chromium driven by Playwright) against the API as a child process.</summary>
public sealed class DashboardTests
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task TheDashboardTellsTheTruthIdleAndUnderLoadAndInvalidatesAUser()
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
                ["Warming:OnStartup"] = "false",
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

            // Idle: no read yet. The tile says so, and the charts keep a two-minute axis and a 0-based scale.
            await page.GotoAsync(api.Client.BaseAddress!.ToString());
            await WaitForAsync(page, "() => Number(document.body.dataset.points ?? 0) >= 3", console);
            Assert.Equal("—", await page.TextContentAsync("#tile-ratio"));
            Assert.Equal("no reads yet", await page.TextContentAsync("#tile-ratio-scope"));
            await AssertSaneScalesAsync(page);
            await SaveScreenshotAsync(page, "dashboard-idle.png");

            await api.Client.GetAsync("/users/150");
            Assert.Equal("HIT", (await api.Client.GetAsync("/users/150")).XCache());
            // Reads stopped again: the tile shows the all-time figure and says that it does.
            await WaitForAsync(page, "() => document.getElementById('tile-ratio').dataset.scope === 'all-time'", console);
            Assert.EndsWith("%", await page.TextContentAsync("#tile-ratio"), StringComparison.Ordinal);

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

            await WaitForAsync(page, "() => document.getElementById('tile-ratio').dataset.scope === 'second'", console);
            Assert.Equal("last second", await page.TextContentAsync("#tile-ratio-scope"));
            await page.FillAsync("#invalidate-id", "150");
            await page.ClickAsync("#invalidate");
            await page.WaitForFunctionAsync("() => document.getElementById('message').textContent === 'Invalidated user:150'", null, new PageWaitForFunctionOptions { Timeout = 10_000 });

            await AssertSaneScalesAsync(page);
            await SaveScreenshotAsync(page, "dashboard.png");
            Assert.Equal("MISS", (await api.Client.GetAsync("/users/150")).XCache());
            Assert.NotEqual("–", await page.TextContentAsync("#tile-ratio"));
            Assert.True(await page.Locator("#families tbody tr").CountAsync() >= 1);
            // A family with no reads shows no ratio rather than 0.00%.
            foreach (var row in await page.Locator("#families tbody tr").AllAsync())
            {
                var cells = await row.Locator("td").AllTextContentsAsync();
                if (cells[1] == "0" && cells[2] == "0")
                    Assert.Equal("—", cells[4]);
                else
                    Assert.EndsWith("%", cells[4], StringComparison.Ordinal);
            }

            await stopTraffic.CancelAsync();
            await Task.WhenAny(traffic);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    private static async Task WaitForAsync(IPage page, string condition, IEnumerable<string> console)
    {
        try
        {
            await page.WaitForFunctionAsync(condition, null, new PageWaitForFunctionOptions { Timeout = 30_000 });
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{condition} did not hold; the page said: {string.Join(" | ", console)}; points: {await page.EvaluateAsync<string>("() => document.body.dataset.points")}");
        }
    }

    /// <summary>Every chart spans the last two minutes (not years) and has a finite value scale from 0 (or below).</summary>
    private static async Task AssertSaneScalesAsync(IPage page)
    {
        var scales = await page.EvaluateAsync<Dictionary<string, Dictionary<string, double[]>>>("() => cacheflowScales()");
        Assert.Equal(6, scales.Count);
        foreach (var (chart, scale) in scales)
        {
            var (x, y) = (scale["x"], scale["y"]);
            Assert.True(x[1] - x[0] is > 100 and < 140, $"{chart}: x spans {x[1] - x[0]} s");
            Assert.True(y[0] <= 0 && y[1] > y[0] && double.IsFinite(y[1]), $"{chart}: y is {y[0]}..{y[1]}");
        }
    }

    private static async Task SaveScreenshotAsync(IPage page, string name)
    {
        var screenshot = await page.ScreenshotAsync(new PageScreenshotOptions { FullPage = true });
        var artifacts = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "artifacts"));
        await File.WriteAllBytesAsync(Path.Combine(artifacts.FullName, name), screenshot);
        TestContext.Current.AddAttachment(name, screenshot, "image/png");
    }
}
