using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace HeapDiag.AspNetCore.Tests.Ui;

/// <summary>
/// The leak-suspects view against the contract of <c>GET {prefix}/heapdump/{id}/suspects</c>. The browser answers that
/// route itself with the contract's example, so the view is checked the same with or without the route in this build.
/// </summary>
public sealed class SuspectsViewBrowserTests(ITestOutputHelper output)
{
    private const string Report = """
        {
          "dumpFileName": "heapdump-20261124T011500123Z-2477-manual-0-heap.dmp",
          "live": { "objects": 1234567, "bytes": 820000000 },
          "thresholdPercent": 10,
          "baselineDumpFileName": BASELINE,
          "suspects": [
            {
              "fingerprint": "3f9a0c12e4b5d6a7",
              "kind": "object",
              "headline": "Orders.OrderRegistry.pending (List<Order>, 5,999,000 items) retains 720 MB (92 %)",
              "suspect": { "typeName": "Orders.OrderRegistry", "displayName": "Orders.OrderRegistry", "address": "0x7f0012340000", "instanceCount": 1, "retainedBytes": 755000000, "retainedPercent": 93.1 },
              "accumulationPoint": { "typeName": "System.Collections.Generic.List<Orders.Order>", "displayName": "Orders.OrderRegistry.pending", "address": "0x7f0012340040", "instanceCount": 1, "retainedBytes": 720000000, "retainedPercent": 92.0 },
              "holds": { "kind": "List", "elementType": "Orders.Order", "count": 5999000 },
              "rootPath": {
                "rootKind": "static field", "root": "Orders.Startup.Registry",
                "steps": [ { "text": "static Orders.Startup.Registry", "typeName": "Orders.OrderRegistry", "fieldName": null },
                           { "text": "OrderRegistry.pending", "typeName": "System.Collections.Generic.List<Orders.Order>", "fieldName": "pending" } ],
                "text": "static Orders.Startup.Registry → OrderRegistry.pending"
              },
              "growth": GROWTH,
              "pattern": { "id": "static-collection-grows", "name": "static collection that only grows",
                           "explanation": "A collection reachable from a static field lives as long as the process.",
                           "fix": "Bound it: remove entries when they are done.", "link": "https://learn.microsoft.com/dotnet/core/diagnostics/debug-memory-leak" }
            }
          ],
          "notes": ["Counts are of live objects."],
          "analysisDurationMs": 1234
        }
        """;

    [RequiresProgramFact(Chromium.Executable, Chromium.Install)]
    public async Task The_view_draws_each_suspect_its_accumulation_point_root_path_growth_and_problems()
    {
        await using var host = await CookieSignedInHost.StartAsync();
        var baseline = await host.CaptureAsync();
        var id = await host.CaptureAsync();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Chromium.LaunchAsync(playwright);
        var page = await Chromium.OpenPageAsync(browser);
        var watch = new PageWatch(page, host.BaseAddress);
        var answer = (Status: 200, Type: "application/json", Body: Report.Replace("BASELINE", "null").Replace("GROWTH", "null"));
        var asked = new List<string>();
        await page.RouteAsync($"**/debug/heapdump/{id}/suspects**", route =>
        {
            asked.Add(route.Request.Url);
            return route.FulfillAsync(new RouteFulfillOptions { Status = answer.Status, ContentType = answer.Type, Body = answer.Body });
        });

        await page.GotoAsync(new Uri(host.BaseAddress, "/login").ToString());
        await page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = $"Open dump {id}" }).ClickAsync();
        var suspect = page.Locator("#suspects-body .suspect[data-fingerprint='3f9a0c12e4b5d6a7']");
        await Expect(suspect.Locator("h4")).ToHaveTextAsync("Orders.OrderRegistry.pending (List<Order>, 5,999,000 items) retains 720 MB (92 %)");
        await Expect(suspect).ToContainTextAsync("Accumulates in");
        var pattern = suspect.Locator(".pattern[data-pattern='static-collection-grows']");
        await Expect(pattern).ToContainTextAsync("Known pattern: static collection that only grows — A collection reachable from a static field lives as long as the process.");
        await Expect(pattern).ToContainTextAsync("Fix: Bound it: remove entries when they are done.");
        await Expect(pattern.Locator("a")).ToHaveAttributeAsync("href", "https://learn.microsoft.com/dotnet/core/diagnostics/debug-memory-leak");
        await Expect(suspect).ToContainTextAsync("List of 5,999,000 Orders.Order");
        await Expect(suspect.Locator(".chain li")).ToHaveTextAsync(["static Orders.Startup.Registry", "OrderRegistry.pending"]);
        Assert.InRange(await suspect.Locator(".bar-fill").EvaluateAsync<double>("e => e.getBoundingClientRect().width / e.parentElement.getBoundingClientRect().width"), 0.92, 0.94);
        await suspect.ScrollIntoViewIfNeededAsync();
        await Chromium.ScreenshotAsync(page, "ui-suspects", output);

        // Against a baseline: the growth since then.
        answer.Body = Report.Replace("BASELINE", "\"heapdump-before.dmp\"")
            .Replace("GROWTH", """{ "isNew": false, "baselineRetainedBytes": 360000000, "retainedBytesDelta": 360000000 }""");
        await page.SelectOptionAsync("#suspects-baseline", baseline);
        await page.ClickAsync("#suspects-form button[type=submit]");
        await Expect(suspect).ToContainTextAsync("Since the baseline+343 MB (was 343 MB)");
        Assert.EndsWith($"/suspects?baseline={baseline}", asked[^1], StringComparison.Ordinal);

        // Problems are shown as problems, with their fix; a 404 for the dump is not taken for a missing route.
        answer = (503, "application/problem+json", """{"title":"The analysis needs more memory","status":503,"detail":"The dump needs 600 MB; the budget is 200 MB.","failure":"AnalysisBudget","fix":"Raise HeapDiagnostics:Analysis:MaxMemoryBytes."}""");
        await page.ClickAsync("#suspects-form button[type=submit]");
        var problem = page.Locator("#suspects-body .message.error");
        await Expect(problem).ToContainTextAsync("The analysis needs more memory (503). The dump needs 600 MB; the budget is 200 MB.");
        await Expect(problem).ToContainTextAsync("Fix: Raise HeapDiagnostics:Analysis:MaxMemoryBytes.");
        answer = (404, "application/problem+json", """{"title":"Heap dump not found","status":404,"detail":"There is no heap dump here."}""");
        await page.ClickAsync("#suspects-form button[type=submit]");
        await Expect(problem).ToContainTextAsync("Heap dump not found (404)");

        watch.AssertStayedOnOrigin();
        watch.AssertQuiet((status, url) => url.Contains("/suspects", StringComparison.Ordinal) && status is 503 or 404);
    }
}
