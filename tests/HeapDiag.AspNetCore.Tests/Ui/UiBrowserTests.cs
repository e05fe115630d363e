using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace HeapDiag.AspNetCore.Tests.Ui;

/// <summary>
/// The page at /debug/ui in a real browser (Debian's chromium through Playwright): against SampleApi as a real process,
/// a leak hunt from the key prompt to a deleted dump; against a minimal app on Kestrel, a user signed in by the app's
/// own cookie. A screenshot of each state goes to screenshots/ beside the test assembly.
/// </summary>
public sealed class UiBrowserTests(ITestOutputHelper output)
{
    private const string KeyStorage = "sessionStorage.getItem('heapdiag.apiKey')";
    private static readonly TimeSpan AutoDumpDeadline = TimeSpan.FromMinutes(2);

    [RequiresProgramFact(Chromium.Executable, Chromium.Install)]
    public async Task A_leak_hunt_in_the_page_from_the_key_to_a_deleted_dump()
    {
        var app = await SampleApiProcess.StartAsync(new Dictionary<string, string>
        {
            ["HeapDiagnostics__Monitor__Interval"] = "00:00:01",
            ["HeapDiagnostics__Monitor__Metric"] = "GcHeapSize",
            ["HeapDiagnostics__Monitor__ThresholdBytes"] = (100L << 20).ToString(CultureInfo.InvariantCulture),
        });
        try
        {
            await HuntAsync(app);
        }
        finally
        {
            // The dumps are real, hundreds of MB each: none outlives the test.
            await app.DisposeAsync();
            Directory.Delete(app.DumpDirectory, recursive: true);
        }
    }

    private async Task HuntAsync(SampleApiProcess app)
    {
        using var api = app.CreateAuthorizedClient();

        // A leak past the threshold: the monitor takes an automatic dump, which the chart marks.
        using (var leak = await api.PostAsync("/leak/cache?mb=160", null))
        {
            leak.EnsureSuccessStatusCode();
        }

        var autoDumpId = await WaitForAutoDumpAsync(api);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Chromium.LaunchAsync(playwright);
        var page = await Chromium.OpenPageAsync(browser);
        var watch = new PageWatch(page, app.BaseAddress);

        await page.GotoAsync(new Uri(app.BaseAddress, "/debug/ui").ToString());
        await AsksForTheKeyAsync(page, autoDumpId);
        await ShowsMemoryAsync(page, autoDumpId);
        var id = await CapturesFromTheButtonAsync(page, app.BaseAddress, autoDumpId);
        await OpensTheDumpAsync(page, id, autoDumpId);
        await DeletesTheDumpAsync(page, id, app.DumpDirectory);

        await page.ClickAsync("#forget-key");
        await Expect(page.Locator("#dashboard")).ToBeHiddenAsync();
        await Expect(page.Locator("#key-input")).ToBeVisibleAsync();
        Assert.Null(await page.EvaluateAsync<string?>(KeyStorage));
        var left = await page.ContentAsync();
        Assert.DoesNotContain(autoDumpId, left, StringComparison.Ordinal);
        Assert.DoesNotContain(" MB", left, StringComparison.Ordinal);

        watch.AssertStayedOnOrigin();
        watch.AssertQuiet((status, url) =>
            (status == 401 && (url.EndsWith("/debug/memory", StringComparison.Ordinal) || url.EndsWith("/debug/monitor?window=true", StringComparison.Ordinal)))
            || (status == 404 && url.EndsWith($"/{id}/suspects", StringComparison.Ordinal)));
    }

    [RequiresProgramFact(Chromium.Executable, Chromium.Install)]
    public async Task Signed_in_with_the_apps_own_cookie_the_page_asks_for_no_key()
    {
        await using var host = await CookieSignedInHost.StartAsync(new Dictionary<string, string?> { ["HeapDiagnostics:Capture:MinInterval"] = "01:00:00" });
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Chromium.LaunchAsync(playwright);
        var page = await Chromium.OpenPageAsync(browser);
        var watch = new PageWatch(page, host.BaseAddress);

        await page.GotoAsync(new Uri(host.BaseAddress, "/login").ToString());
        await Expect(page.Locator("#dashboard")).ToBeVisibleAsync();
        await Expect(page.Locator("#access")).ToBeHiddenAsync();
        await Expect(page.Locator("#forget-key")).ToBeHiddenAsync();
        await page.WaitForFunctionAsync("() => Number(document.querySelector('#chart path[data-series=workingSetBytes]').dataset.points) >= 2");

        // By keyboard alone: Tab reaches the zoom, the chart and the capture form; Enter captures.
        var reached = new List<string>();
        for (var i = 0; i < 30 && !reached.Contains("capture-button"); i++)
        {
            await page.Keyboard.PressAsync("Tab");
            reached.Add(await page.EvaluateAsync<string>("document.activeElement.id || document.activeElement.tagName"));
        }

        Assert.Equal(["zoom", "svg", "capture-type", "capture-button"], reached.Intersect(["zoom", "svg", "capture-type", "capture-button"]));
        await page.Keyboard.PressAsync("Enter");
        var captured = page.Locator("#capture-message .message.info code");
        await Expect(captured).ToBeVisibleAsync();
        var id = await captured.InnerTextAsync();

        // A second capture inside Capture:MinInterval: the 429 as a message that says when to try again.
        await page.ClickAsync("#capture-button");
        var refused = page.Locator("#capture-message .message.error");
        await Expect(refused).ToContainTextAsync("Too soon after the last capture (429)");
        await Expect(refused).ToContainTextAsync("Try again in");
        await Chromium.ScreenshotAsync(page, "ui-cookie-429", output);
        var beforeKey = watch.Requests.Count;

        // Download signed in by cookie (a plain link), then with a key (fetched with the header).
        var saved = Directory.CreateTempSubdirectory("heapdiag-ui-download-");
        try
        {
            await DownloadAsync(page, id, Path.Combine(saved.FullName, "by-cookie.dmp"));
            await page.EvaluateAsync($"sessionStorage.setItem('heapdiag.apiKey', '{TestHost.ApiKey}')");
            await DownloadAsync(page, id, Path.Combine(saved.FullName, "by-key.dmp"));
        }
        finally
        {
            saved.Delete(recursive: true);
        }

        Assert.All(watch.Requests.Take(beforeKey), request => Assert.False(request.Headers.ContainsKey("x-api-key"), request.Url));
        watch.AssertStayedOnOrigin();
        watch.AssertQuiet((status, url) => status == 429 && url.EndsWith("/debug/heapdump?type=heap", StringComparison.Ordinal));
    }

    private static async Task DownloadAsync(IPage page, string id, string path)
    {
        var download = await page.RunAndWaitForDownloadAsync(() =>
            page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = $"Download dump {id}" }).ClickAsync());
        Assert.Equal($"heapdump-{id}.dmp", download.SuggestedFilename);
        await download.SaveAsAsync(path);
        Assert.Equal(1024, new FileInfo(path).Length);
    }

    private async Task AsksForTheKeyAsync(IPage page, string autoDumpId)
    {
        // Before the key: the prompt, and nothing of the process, not even hidden in the DOM.
        await Expect(page.Locator("#key-input")).ToBeFocusedAsync();
        await Expect(page.Locator("#dashboard")).ToBeHiddenAsync();
        var dom = await page.ContentAsync();
        Assert.DoesNotContain(autoDumpId, dom, StringComparison.Ordinal);
        Assert.DoesNotContain(" MB", dom, StringComparison.Ordinal);
        Assert.Equal(0, await page.Locator("#chart path[data-points]:not([data-points='0'])").CountAsync());
        await Chromium.ScreenshotAsync(page, "ui-1-asks-for-the-key", output);

        // A wrong key: one clear message, and the key is not kept.
        await page.FillAsync("#key-input", "wrong-key-0123456789abcdef0123456789abcdef");
        await page.PressAsync("#key-input", "Enter");
        await Expect(page.Locator("#access-message")).ToContainTextAsync("not accepted");
        await Expect(page.Locator(".message")).ToHaveCountAsync(1);
        await Expect(page.Locator("#dashboard")).ToBeHiddenAsync();
        Assert.Null(await page.EvaluateAsync<string?>(KeyStorage));
        await Chromium.ScreenshotAsync(page, "ui-2-wrong-key", output);
    }

    private async Task ShowsMemoryAsync(IPage page, string autoDumpId)
    {
        await page.FillAsync("#key-input", TestHost.ApiKey);
        await page.PressAsync("#key-input", "Enter");
        await Expect(page.Locator("#dashboard")).ToBeVisibleAsync();
        Assert.Equal(TestHost.ApiKey, await page.EvaluateAsync<string?>(KeyStorage));

        // The chart: points that keep coming (it refreshes every second), the threshold line, the automatic dump.
        await page.WaitForFunctionAsync("() => Number(document.querySelector('#chart path[data-series=workingSetBytes]').dataset.points) >= 5");
        var first = await Points(page);
        await page.WaitForFunctionAsync($"() => Number(document.querySelector('#chart path[data-series=gcHeapSizeBytes]').dataset.points) > {first}");
        var threshold = page.Locator("#chart line.threshold");
        await Expect(threshold).ToHaveAttributeAsync("data-bytes", (100L << 20).ToString(CultureInfo.InvariantCulture));
        Assert.DoesNotContain("hidden", await threshold.GetAttributeAsync("class") ?? string.Empty, StringComparison.Ordinal);
        await Expect(page.Locator($"#chart g.marker[data-dump-id='{autoDumpId}']")).ToHaveCountAsync(1);
        await Expect(page.Locator("#growth")).ToContainTextAsync("GC heap:");
        await Expect(page.Locator("#now-body")).ToContainTextAsync("Recommendation");
        await Expect(page.Locator($"#dumps-body tr[data-dump-id='{autoDumpId}']")).ToContainTextAsync("automatic #1");
        await Chromium.ScreenshotAsync(page, "ui-3-memory", output);
    }

    private async Task<string> CapturesFromTheButtonAsync(IPage page, Uri baseAddress, string autoDumpId)
    {
        await page.SelectOptionAsync("#capture-type", "heap");
        await page.ClickAsync("#capture-button");
        var captured = page.Locator("#capture-message .message.info code");
        await Expect(captured).ToBeVisibleAsync(new LocatorAssertionsToBeVisibleOptions { Timeout = 120_000 });
        var id = await captured.InnerTextAsync();
        await Expect(page.Locator($"#dumps-body tr[data-dump-id='{id}']")).ToBeVisibleAsync();
        await Chromium.ScreenshotAsync(page, "ui-4-captured", output);

        // The shell is the same for everyone: it never carries a dump id.
        using var anonymous = new HttpClient();
        var shell = await anonymous.GetStringAsync(new Uri(baseAddress, "/debug/ui"));
        Assert.DoesNotContain(id, shell, StringComparison.Ordinal);
        Assert.DoesNotContain(autoDumpId, shell, StringComparison.Ordinal);
        return id;
    }

    private async Task OpensTheDumpAsync(IPage page, string id, string autoDumpId)
    {
        await page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = $"Open dump {id}" }).ClickAsync();
        await Expect(page.Locator("#dump-view")).ToBeVisibleAsync();

        // Leak suspects where the route exists; until then the summary's retained sizes stand in.
        var suspects = page.Locator("#suspects-body").Locator(".suspect, .retained-list").First;
        await Expect(suspects).ToBeVisibleAsync(new LocatorAssertionsToBeVisibleOptions { Timeout = 180_000 });
        await Expect(page.Locator("#suspects-body")).ToContainTextAsync("SampleApi.Leaks.CachedOrder");
        await page.Locator("#dump-view").ScrollIntoViewIfNeededAsync();
        await Chromium.ScreenshotAsync(page, "ui-5-suspects", output);

        await page.ClickAsync("#tab-types");
        await Expect(page.Locator("#types-body table.types tbody tr").First).ToBeVisibleAsync(new LocatorAssertionsToBeVisibleOptions { Timeout = 120_000 });
        await Expect(page.Locator("#types-body")).ToContainTextAsync("SampleApi.Leaks.CachedOrder");
        await page.ClickAsync("#types-body th button.sort:text-is('Objects')");
        await Expect(page.Locator("#types-body th[aria-sort=descending]")).ToContainTextAsync("Objects");
        var counts = await page.Locator("#types-body tbody tr td:nth-child(2)").AllInnerTextsAsync();
        Assert.True(Number(counts[0]) >= Number(counts[1]), $"sorted by objects: {counts[0]} then {counts[1]}");
        await Chromium.ScreenshotAsync(page, "ui-6-top-types", output);

        await page.ClickAsync("#tab-diff");
        await page.SelectOptionAsync("#diff-baseline", autoDumpId);
        await page.ClickAsync("#diff-form button[type=submit]");
        await Expect(page.Locator("#diff-body")).ToContainTextAsync("types changed", new LocatorAssertionsToContainTextOptions { Timeout = 120_000 });

        // Who holds the leaked type: from its name in the top types straight to its retainers.
        await page.ClickAsync("#tab-types");
        await page.ClickAsync("#types-body button.link:text-is('SampleApi.Leaks.CachedOrder')");
        await Expect(page.Locator("#retainers-body .path").First).ToBeVisibleAsync(new LocatorAssertionsToBeVisibleOptions { Timeout = 120_000 });
        await Expect(page.Locator("#retainers-body")).ToContainTextAsync("SampleApi.Leaks.LeakStore");
        await Chromium.ScreenshotAsync(page, "ui-7-retainers", output);

        await page.ClickAsync("#tab-diagnostics");
        await Expect(page.Locator("#diagnostics-body")).ToContainTextAsync("trigger manual");
    }

    private async Task DeletesTheDumpAsync(IPage page, string id, string dumpDirectory)
    {
        await page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = $"Delete dump {id}" }).ClickAsync();
        await Expect(page.Locator("#confirm-delete")).ToBeVisibleAsync();
        await Expect(page.Locator("#confirm-text")).ToContainTextAsync(id);
        await Chromium.ScreenshotAsync(page, "ui-8-confirm-delete", output);
        await page.ClickAsync("#confirm-ok");

        await Expect(page.Locator($"#dumps-body tr[data-dump-id='{id}']")).ToHaveCountAsync(0);
        await Expect(page.Locator("#dump-view")).ToBeHiddenAsync();
        Assert.Empty(Directory.GetFiles(dumpDirectory, $"*{id}*"));
        await Chromium.ScreenshotAsync(page, "ui-9-deleted", output);
    }

    private static async Task<string> WaitForAutoDumpAsync(HttpClient api)
    {
        var status = await Poll.UntilAsync(
            () => api.GetFromJsonAsync<JsonElement>("/debug/monitor"), status => status.GetProperty("autoDumps").GetArrayLength() > 0, "an automatic dump", AutoDumpDeadline);
        var dump = status.GetProperty("autoDumps")[0];
        Assert.True(dump.GetProperty("success").GetBoolean(), dump.GetProperty("error").GetString());
        return dump.GetProperty("id").GetString()!;
    }

    private static async Task<int> Points(IPage page) =>
        int.Parse(await page.Locator("#chart path[data-series=gcHeapSizeBytes]").GetAttributeAsync("data-points") ?? "0", CultureInfo.InvariantCulture);

    private static long Number(string text) => long.Parse(text.Replace(",", string.Empty, StringComparison.Ordinal), CultureInfo.InvariantCulture);
}
