using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace HeapDiag.AspNetCore.Tests.Monitoring;

/// <summary>
/// Growth by kind in the monitor's state: a real SampleApi process whose monitor took its first map before a native
/// leak; <c>GET /monitor</c> then says the native heap grew (kinds at start and now, the growth of each), and the page's
/// second bar shows it.
/// </summary>
public sealed class MonitorMemoryMapTests(ITestOutputHelper output)
{
    private const long Mb = 1024 * 1024;

    [Fact]
    public async Task The_monitor_says_which_kind_grew_since_it_started()
    {
        var app = await StartAsync();
        using var client = app.CreateAuthorizedClient();
        try
        {
            var before = await MonitorMapAsync(client, maps: true);
            Assert.NotEmpty(before.GetProperty("samples").EnumerateArray());
            Assert.Equal(before.GetProperty("start").GetProperty("timestamp").GetString(), before.GetProperty("samples")[0].GetProperty("timestamp").GetString());
            var startResident = before.GetProperty("start").GetProperty("residentBytes").GetInt64();

            await LeakNativeAsync(client);

            var after = await MonitorMapAsync(client, maps: false);
            Assert.Equal(JsonValueKind.Null, after.GetProperty("samples").ValueKind);
            Assert.Equal(startResident, after.GetProperty("start").GetProperty("residentBytes").GetInt64());
            var growth = after.GetProperty("growth");
            var grown = after.GetProperty("now").GetProperty("residentBytes").GetInt64() - startResident;
            Assert.Equal(grown, growth.GetProperty("residentBytes").GetInt64());
            var native = Kind(growth, "nativeHeap");
            Assert.True(native >= 200 * Mb * 0.8, $"native heap grew {native / Mb} MB for a 200 MB leak: {after}");
            Assert.True(native >= grown * 0.8, $"native heap grew {native / Mb} MB of {grown / Mb} MB: {after}");
            Assert.Equal("nativeHeap", after.GetProperty("growingKind").GetString());
            Assert.Equal("nativeHeap", after.GetProperty("outsideHeap").GetProperty("kind").GetString());
            Assert.Equal(Kind(after.GetProperty("now"), "nativeHeap") - Kind(after.GetProperty("start"), "nativeHeap"), native);
        }
        finally
        {
            await app.DisposeAsync();
            Directory.Delete(app.DumpDirectory, recursive: true);
        }
    }

    [RequiresProgramFact(Chromium.Executable, Chromium.Install)]
    public async Task The_page_shows_what_grew_since_the_monitor_started()
    {
        var app = await StartAsync();
        using var client = app.CreateAuthorizedClient();
        try
        {
            await MonitorMapAsync(client, maps: false);
            await LeakNativeAsync(client);

            using var playwright = await Playwright.CreateAsync();
            await using var browser = await Chromium.LaunchAsync(playwright);
            var page = await Chromium.OpenPageAsync(browser);
            await page.GotoAsync(new Uri(app.BaseAddress, "/debug/ui").ToString());
            await page.FillAsync("#key-input", TestHost.ApiKey);
            await page.PressAsync("#key-input", "Enter");
            await Expect(page.Locator("#dashboard")).ToBeVisibleAsync();

            var bar = page.Locator("#map-body .map-growth-bar");
            await Expect(bar).ToBeVisibleAsync();
            await Expect(bar).ToHaveAttributeAsync("aria-label", new System.Text.RegularExpressions.Regex("^Grew since the monitor started: native heap \\+"));
            await Expect(page.Locator("#map-body .map-growth")).ToContainTextAsync("Grew most: native heap.");
            await Expect(page.Locator("#map-body .map-verdict")).ToContainTextAsync("a heap dump will not show this leak");
            var nativeShare = await bar.Locator(".kind-nativeHeap").EvaluateAsync<double>("part => part.getBoundingClientRect().width / part.parentElement.getBoundingClientRect().width");
            Assert.True(nativeShare >= 0.8, $"the native heap's part of the growth bar is {nativeShare:P0}");
            await Chromium.ScreenshotAsync(page, "ui-map-growth-since-start", output);
        }
        finally
        {
            await app.DisposeAsync();
            Directory.Delete(app.DumpDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task A_maps_flag_that_is_not_true_or_false_is_refused_with_a_problem_naming_it()
    {
        await using var host = await TestHost.StartAsync();

        using var answer = await host.Client.GetAsync("/debug/monitor?maps=maybe");

        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        Assert.Equal("application/problem+json", answer.Content.Headers.ContentType?.MediaType);
        var problem = await answer.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("maps", problem.GetProperty("detail").GetString()!, StringComparison.Ordinal);
    }

    /// <summary>SampleApi with its monitor ticking every second, far below any threshold (no dump is taken).</summary>
    private static Task<SampleApiProcess> StartAsync() => SampleApiProcess.StartAsync(new Dictionary<string, string>
    {
        ["HeapDiagnostics__Monitor__Interval"] = "00:00:01",
        ["HeapDiagnostics__Monitor__ThresholdBytes"] = (100L << 30).ToString(CultureInfo.InvariantCulture),
    });

    private static async Task LeakNativeAsync(HttpClient client)
    {
        using var leak = await client.PostAsync("/leak/native?mb=200", null);
        Assert.Equal(HttpStatusCode.OK, leak.StatusCode);
    }

    /// <summary>The monitor's map, once its first tick has taken the baseline.</summary>
    private static async Task<JsonElement> MonitorMapAsync(HttpClient client, bool maps)
    {
        var status = await Poll.UntilAsync(
            () => client.GetFromJsonAsync<JsonElement>(maps ? "/debug/monitor?maps=true" : "/debug/monitor?window=true"),
            s => s.GetProperty("lastSample").ValueKind == JsonValueKind.Object && s.GetProperty("memoryMap").ValueKind == JsonValueKind.Object,
            "the monitor's first tick and its map");
        return status.GetProperty("memoryMap");
    }

    private static long Kind(JsonElement kinds, string kind) =>
        kinds.GetProperty("kinds").EnumerateArray().Single(k => k.GetProperty("kind").GetString() == kind).GetProperty("bytes").GetInt64();
}
