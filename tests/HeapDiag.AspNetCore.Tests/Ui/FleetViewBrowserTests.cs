using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace HeapDiag.AspNetCore.Tests.Ui;

/// <summary>
/// The Fleet view against the contract of <c>GET {prefix}/fleet</c>: the browser answers that route with the contract's
/// example (FleetBucketTests prove the route itself on real buckets); a leak's dump opens in the dump view.
/// </summary>
public sealed class FleetViewBrowserTests(ITestOutputHelper output)
{
    private const string DumpId = "20261204T110000000Z-101-manual-0-heap";

    private const string Fleet = """
        {
          "generatedUtc": "2026-12-04T12:00:00Z", "source": "s3://heapdumps/prod/ at http://127.0.0.1:9000", "app": null, "apps": ["orders"],
          "instanceCount": 2, "liveCount": 1, "page": 1, "pageSize": 100,
          "instances": [
            { "app": "orders", "instance": "101-aaaa", "host": "pod-a", "version": "1.0.0", "live": true, "startedUtc": "2026-12-04T09:00:00Z",
              "refreshedUtc": "2026-12-04T12:00:00Z", "lastSample": null, "metric": "WorkingSet", "thresholdBytes": 1610612736, "dumpsTaken": 2,
              "latestReport": "orders grew", "dumps": [] },
            { "app": "orders", "instance": "102-bbbb", "host": "pod-b", "version": "1.0.0", "live": false, "startedUtc": "2026-12-04T09:00:00Z",
              "refreshedUtc": "2026-12-04T10:00:00Z", "lastSample": null, "metric": "WorkingSet", "thresholdBytes": 1610612736, "dumpsTaken": 1,
              "latestReport": null, "dumps": [] }
          ],
          "leaks": [
            { "fingerprint": "3f9a00aa11bb22cc", "kind": "object", "headline": "Orders.Cache.entries retains 400 MB", "pattern": null, "instanceCount": 2,
              "firstSeenUtc": "2026-12-04T10:00:00Z", "worstGrowthBytesPerHour": 314572800,
              "instances": [
                { "app": "orders", "instance": "101-aaaa", "live": true, "latestRetainedBytes": 419430400, "growthBytes": 314572800, "growthBytesPerHour": 314572800,
                  "dumpIds": ["20261204T100000000Z-101-manual-0-heap", "DUMP"] },
                { "app": "orders", "instance": "102-bbbb", "live": false, "latestRetainedBytes": 157286400, "growthBytes": null, "growthBytesPerHour": null, "dumpIds": ["20261204T103000000Z-102-manual-0-heap"] }
              ] }
          ],
          "scan": { "readUtc": "2026-12-04T12:00:00Z", "cached": false, "objectsListed": 12, "requests": 3, "durationMs": 40, "ignoredObjects": 1, "damagedRecords": 1, "problems": [] }
        }
        """;

    [RequiresProgramFact(Chromium.Executable, Chromium.Install)]
    public async Task The_fleet_view_shows_instances_live_and_gone_and_grouped_leaks_whose_dumps_open()
    {
        await using var host = await CookieSignedInHost.StartAsync();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Chromium.LaunchAsync(playwright);
        var page = await Chromium.OpenPageAsync(browser);
        var watch = new PageWatch(page, host.BaseAddress);
        await page.RouteAsync("**/debug/fleet", route => route.FulfillAsync(new RouteFulfillOptions { Status = 200, ContentType = "application/json", Body = Fleet.Replace("DUMP", DumpId) }));
        var notFound = new RouteFulfillOptions { Status = 404, ContentType = "application/problem+json", Body = """{"title":"Heap dump not found","status":404,"detail":"There is no heap dump here."}""" };
        await page.RouteAsync($"**/debug/heapdump/{DumpId}/suspects**", route => route.FulfillAsync(notFound));

        await page.GotoAsync(new Uri(host.BaseAddress, "/login").ToString());
        await page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = "Show fleet" }).ClickAsync();

        await Expect(page.Locator(".fleet-summary")).ToContainTextAsync("2 instances, 1 live, 1 leaks");
        await Expect(page.Locator(".fleet-instances tbody tr")).ToHaveCountAsync(2);
        await Expect(page.Locator(".fleet-instances tr[data-instance='102-bbbb']")).ToContainTextAsync("gone");
        var leak = page.Locator(".leak[data-fingerprint='3f9a00aa11bb22cc']");
        await Expect(leak.Locator("summary")).ToContainTextAsync("Orders.Cache.entries retains 400 MB");
        await Expect(leak.Locator("summary")).ToContainTextAsync("on 2 instances, worst growth +300 MB/h");
        await leak.Locator("summary").ClickAsync();
        await Expect(leak.Locator("tr[data-instance='101-aaaa']")).ToContainTextAsync("+300 MB");
        await Chromium.ScreenshotAsync(page, "ui-fleet", output);

        await leak.GetByRole(AriaRole.Button, new LocatorGetByRoleOptions { Name = $"Open dump {DumpId}" }).ClickAsync();
        await Expect(page.Locator("#dump-title")).ToHaveTextAsync($"Dump {DumpId}");
        await Expect(page.Locator("#suspects-body .message.error")).ToContainTextAsync("Heap dump not found (404)");

        watch.AssertStayedOnOrigin();
        watch.AssertQuiet((status, url) => status == 404 && url.Contains(DumpId, StringComparison.Ordinal));
    }
}
