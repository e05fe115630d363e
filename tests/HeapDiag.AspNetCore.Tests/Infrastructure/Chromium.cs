using Microsoft.Playwright;
using Xunit.Abstractions;

namespace HeapDiag.AspNetCore.Tests.Infrastructure;

/// <summary>Debian's chromium driven by Playwright: never a downloaded browser, never a network it does not have.</summary>
internal static class Chromium
{
    public const string Executable = "/usr/bin/chromium";
    public const string Install = "apt-get install chromium";

    public static Task<IBrowser> LaunchAsync(IPlaywright playwright) => playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = Executable,
        Headless = true,

        // As root there is no sandbox; the rest keep chromium off a network it does not have.
        Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });

    /// <summary>A page at 1280×800, the size the HeapDiag page is made to be read at.</summary>
    public static async Task<IPage> OpenPageAsync(IBrowser browser)
    {
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
        page.SetDefaultTimeout(30_000);
        return page;
    }

    /// <summary>Saves a screenshot beside the test assembly (screenshots/{name}.png) and names it in the test output.</summary>
    public static async Task<string> ScreenshotAsync(IPage page, string name, ITestOutputHelper output, bool fullPage = false)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "screenshots", $"{name}.png");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = fullPage });
        output.WriteLine($"Screenshot: {path}");
        return path;
    }
}
