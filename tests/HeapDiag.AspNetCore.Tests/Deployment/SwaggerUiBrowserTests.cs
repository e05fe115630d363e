using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace HeapDiag.AspNetCore.Tests.Deployment;

/// <summary>
/// The developer's path through Swagger UI in a real browser: Debian's chromium driven by Playwright (never a
/// downloaded browser), against SampleApi served by Kestrel on 127.0.0.1.
/// </summary>
public sealed class SwaggerUiBrowserTests(ITestOutputHelper output)
{
    [RequiresProgramFact(Chromium.Executable, Chromium.Install)]
    public async Task Try_it_out_on_memory_is_401_without_the_key_and_200_after_Authorize()
    {
        await using var app = await SampleApiProcess.StartAsync(new Dictionary<string, string>());

        // The app's own endpoints are its own: the OpenAPI document answers without a key.
        using (var anonymous = new HttpClient { BaseAddress = app.BaseAddress })
        using (var document = await anonymous.GetAsync("/swagger/v1/swagger.json"))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, document.StatusCode);
        }

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Chromium.LaunchAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 1600 } });
        page.SetDefaultTimeout(30_000);

        await page.GotoAsync(new Uri(app.BaseAddress, "/swagger/index.html").ToString());
        var tag = page.Locator("#operations-tag-HeapDiagnostics");
        await Assertions.Expect(tag).ToBeVisibleAsync();

        var memory = page.Locator(".opblock").Filter(new LocatorFilterOptions { Has = page.Locator(".opblock-summary-path[data-path='/debug/memory']") });
        await memory.Locator(".opblock-summary").ClickAsync();
        await memory.Locator("button.try-out__btn").ClickAsync();
        await memory.Locator("button.execute").ClickAsync();
        await Assertions.Expect(memory.Locator(".live-responses-table .response .response-col_status").First).ToHaveTextAsync("401");

        await page.Locator(".auth-wrapper button.authorize").ClickAsync();
        var dialog = page.Locator(".dialog-ux");
        await dialog.Locator("input[type=text]").FillAsync(TestHost.ApiKey);
        await dialog.Locator("button.modal-btn.auth.authorize").ClickAsync();
        await dialog.Locator("button.btn-done").ClickAsync();

        await memory.Locator("button.execute").ClickAsync();
        await Assertions.Expect(memory.Locator(".live-responses-table .response .response-col_status").First).ToHaveTextAsync("200");
        await Assertions.Expect(memory.Locator(".live-responses-table .response .response-col_description")).ToContainTextAsync("workingSetBytes");

        await Chromium.ScreenshotAsync(page, "swagger-memory-authorized", output);
        Directory.Delete(app.DumpDirectory, recursive: true);
    }
}
