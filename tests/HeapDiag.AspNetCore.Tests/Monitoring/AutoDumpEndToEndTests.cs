using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.AspNetCore.Tests.Infrastructure;

namespace HeapDiag.AspNetCore.Tests.Monitoring;

/// <summary>The whole loop in a real SampleApi process: a leak grows memory past the threshold and one dump appears.</summary>
public sealed class AutoDumpEndToEndTests
{
    private const long Mb = 1024 * 1024;

    [Fact]
    public async Task A_leak_past_the_threshold_gives_exactly_one_auto_dump_and_further_growth_none()
    {
        await using var app = await SampleApiProcess.StartAsync(new Dictionary<string, string>
        {
            ["HeapDiagnostics__Monitor__Interval"] = "00:00:01",
            ["HeapDiagnostics__Monitor__ThresholdBytes"] = (400 * Mb).ToString(),
        });
        using var client = app.CreateAuthorizedClient();
        try
        {
            var idle = (await client.GetFromJsonAsync<JsonElement>("/debug/monitor")).GetProperty("lastSample").GetProperty("workingSetBytes").GetInt64();
            Assert.True(idle < 300 * Mb, $"SampleApi idles at {idle / Mb} MB, too close to the 400 MB threshold for this test");

            using (var leak = await client.PostAsync("/leak/cache?mb=450", null))
            {
                Assert.Equal(HttpStatusCode.OK, leak.StatusCode);
            }

            var status = await MonitorUntilAsync(client, s => s.GetProperty("autoDumps").GetArrayLength() >= 1, "the automatic dump");
            var autoDump = Assert.Single(status.GetProperty("autoDumps").EnumerateArray());
            Assert.True(autoDump.GetProperty("success").GetBoolean(), autoDump.ToString());
            Assert.Equal(1, autoDump.GetProperty("dumpNumber").GetInt32());

            // More growth inside the limits (the one-hour cooldown): no second dump.
            using (var more = await client.PostAsync("/leak/cache?mb=150", null))
            {
                Assert.Equal(HttpStatusCode.OK, more.StatusCode);
            }

            // The monitor's own word that it saw the grown value and declined it: a sample past the threshold that the
            // policy answered with CoolingDown (no waiting for a dump that should not come).
            status = await MonitorUntilAsync(
                client,
                s => s.GetProperty("lastSample").GetProperty("workingSetBytes").GetInt64() > 600 * Mb && s.GetProperty("lastDecision").GetString() == "CoolingDown",
                "a sample past 600 MB declined as CoolingDown");
            Assert.Single(status.GetProperty("autoDumps").EnumerateArray());
            Assert.NotEqual(JsonValueKind.Null, status.GetProperty("nextAllowedAt").ValueKind);

            var dumps = (await client.GetFromJsonAsync<JsonElement>("/debug/heapdump")).GetProperty("dumps").EnumerateArray().ToList();
            var dump = Assert.Single(dumps);
            Assert.Equal("auto", dump.GetProperty("trigger").GetString());
            Assert.Equal(1, dump.GetProperty("dumpNumber").GetInt32());
            Assert.Equal(autoDump.GetProperty("id").GetString(), dump.GetProperty("id").GetString());

            var diagnostics = await client.GetFromJsonAsync<JsonElement>($"/debug/heapdump/{dump.GetProperty("id").GetString()}/diagnostics");
            Assert.Equal("auto", diagnostics.GetProperty("trigger").GetString());
            Assert.Equal(1, diagnostics.GetProperty("dumpNumber").GetInt32());
        }
        finally
        {
            await app.DisposeAsync();
            Directory.Delete(app.DumpDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task The_second_auto_dump_carries_a_leak_report_of_what_grew_and_who_holds_it()
    {
        // A second Serilog sink added through the environment, as operators do: compact JSON, where every property shows.
        var logs = Directory.CreateTempSubdirectory("heapdiag-serilog-").FullName;
        await using var app = await SampleApiProcess.StartAsync(new Dictionary<string, string>
        {
            ["Serilog__Using__1"] = "Serilog.Sinks.File",
            ["Serilog__WriteTo__1__Name"] = "File",
            ["Serilog__WriteTo__1__Args__path"] = Path.Combine(logs, "sampleapi.clef"),
            ["Serilog__WriteTo__1__Args__formatter"] = "Serilog.Formatting.Compact.CompactJsonFormatter, Serilog.Formatting.Compact",
            ["HeapDiagnostics__Monitor__Interval"] = "00:00:01",
            ["HeapDiagnostics__Monitor__ThresholdBytes"] = (400 * Mb).ToString(),
            ["HeapDiagnostics__Monitor__Cooldown"] = "00:00:00",
            // Re-arming counts from what the working set reads after the first dump and its report (both add
            // to it), so only the second leak can re-arm the monitor.
            ["HeapDiagnostics__Monitor__RearmGrowthPercent"] = "20",
        });
        using var client = app.CreateAuthorizedClient();
        try
        {
            (await client.PostAsync("/leak/cache?mb=450", null)).Dispose();
            var first = await MonitorUntilAsync(client, s => s.GetProperty("autoDumps").GetArrayLength() >= 1, "the first automatic dump");
            var firstId = first.GetProperty("autoDumps")[0].GetProperty("id").GetString()!;
            var firstReport = await LeakReportAsync(client, firstId);
            Assert.Equal(JsonValueKind.Null, firstReport.GetProperty("comparedWithDumpId").ValueKind);
            Assert.NotEmpty(firstReport.GetProperty("topTypes").EnumerateArray());
            Assert.StartsWith("SampleApi.Leaks.LeakStore._cache (List<CachedOrder>, ", firstReport.GetProperty("headline").GetString());
            Assert.DoesNotContain("since the last dump", firstReport.GetProperty("headline").GetString());

            (await client.PostAsync("/leak/cache?mb=450", null)).Dispose();
            var second = await MonitorUntilAsync(client, s => s.GetProperty("autoDumps").GetArrayLength() >= 2, "the second automatic dump");
            var secondId = second.GetProperty("autoDumps")[1].GetProperty("id").GetString()!;
            var report = await LeakReportAsync(client, secondId);

            // The suspect that grew most is the cache's list, matched with the first dump's by its fingerprint. Either
            // dump may fire while a leak route is still allocating, so the growth is whatever was added between them.
            Assert.Equal(firstId, report.GetProperty("comparedWithDumpId").GetString());
            var cache = report.GetProperty("suspects")[0];
            var firstCache = firstReport.GetProperty("suspects")[0];
            Assert.True(firstCache.GetProperty("fingerprint").GetString() == cache.GetProperty("fingerprint").GetString(), $"{firstReport}\n\n{report}");
            Assert.Equal("SampleApi.Leaks.LeakStore._cache", cache.GetProperty("accumulationPoint").GetProperty("displayName").GetString());
            var growth = cache.GetProperty("growth");
            Assert.False(growth.GetProperty("isNew").GetBoolean());
            Assert.InRange(growth.GetProperty("retainedBytesDelta").GetInt64(), 1, 2 * 450 * Mb * 11 / 10);
            // The list's growth is the live orders' growth, but for the one order a dump may catch allocated and not yet
            // added (live on the route's stack, not in the list): the route adds them one at a time, so ±1 at most.
            var listGrowth = cache.GetProperty("holds").GetProperty("count").GetInt64() - firstCache.GetProperty("holds").GetProperty("count").GetInt64();
            var liveGrowth = LiveCount(await client.GetFromJsonAsync<JsonElement>($"/debug/heapdump/{secondId}/summary?top=1000"), "SampleApi.Leaks.CachedOrder")
                - LiveCount(await client.GetFromJsonAsync<JsonElement>($"/debug/heapdump/{firstId}/summary?top=1000"), "SampleApi.Leaks.CachedOrder");
            Assert.True(Math.Abs(listGrowth - liveGrowth) <= 1, $"the list grew by {listGrowth:N0} items, live orders by {liveGrowth:N0}");
            var headline = report.GetProperty("headline").GetString()!;
            Assert.StartsWith("SampleApi.Leaks.LeakStore._cache (List<CachedOrder>, ", headline);
            Assert.Contains(" MB since the last dump; path: singleton SampleApi.Leaks.LeakStore (service provider) \u2192 LeakStore._cache [fingerprint ", headline);
            await AssertLoggedThroughSerilogAsync(Path.Combine(logs, "sampleapi.clef"), firstId, secondId, headline);
        }
        finally
        {
            await app.DisposeAsync();
            Directory.Delete(app.DumpDirectory, recursive: true);
            Directory.Delete(logs, recursive: true);
        }
    }

    /// <summary>HeapDiag's events in Serilog's compact JSON: the threshold crossing, the dump, the leak report, each with its values as properties.</summary>
    private static async Task AssertLoggedThroughSerilogAsync(string file, string firstId, string secondId, string headline)
    {
        var events = await Poll.UntilAsync(
            async () => (await ReadSharedAsync(file)).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement).ToList(),
            events => events.Any(e => e.TryGetProperty("DumpId", out var id) && id.GetString() == secondId && e.GetProperty("@mt").GetString()!.StartsWith("Leak report", StringComparison.Ordinal)),
            "the second leak report in Serilog's file");
        var crossing = events.First(e => e.GetProperty("@mt").GetString()!.StartsWith("Memory threshold crossed", StringComparison.Ordinal));
        Assert.Equal("Warning", crossing.GetProperty("@l").GetString());
        Assert.Equal(3001, crossing.GetProperty("EventId").GetProperty("Id").GetInt32());
        Assert.Equal("WorkingSet", crossing.GetProperty("Metric").GetString());
        Assert.Equal(400 * Mb, crossing.GetProperty("Threshold").GetInt64());
        Assert.True(crossing.GetProperty("Value").GetInt64() >= 400 * Mb);
        Assert.Equal(1, crossing.GetProperty("DumpNumber").GetInt32());
        var written = events.First(e => e.GetProperty("@mt").GetString()!.StartsWith("Heap dump {DumpId} written", StringComparison.Ordinal) && e.GetProperty("DumpId").GetString() == firstId);
        Assert.True(written.GetProperty("SizeBytes").GetInt64() > 400 * Mb);
        var report = events.Single(e => e.GetProperty("@mt").GetString()!.StartsWith("Leak report", StringComparison.Ordinal) && e.GetProperty("DumpId").GetString() == secondId);
        Assert.Equal(firstId, report.GetProperty("PreviousDumpId").GetString());
        Assert.Equal(headline, report.GetProperty("Headline").GetString());
        Assert.Equal("HeapDiag.AspNetCore.Monitoring.AutoDumpLeakReporter", report.GetProperty("SourceContext").GetString());
    }

    /// <summary>Reads the whole file while Serilog keeps it open for writing.</summary>
    private static async Task<string> ReadSharedAsync(string file)
    {
        if (!File.Exists(file))
        {
            return string.Empty;
        }

        await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        var text = await reader.ReadToEndAsync();
        return text[..(text.LastIndexOf('\n') + 1)]; // a line still being written is read next time
    }

    private static long LiveCount(JsonElement summary, string typeName) =>
        summary.GetProperty("types").EnumerateArray().Single(t => t.GetProperty("name").GetString() == typeName).GetProperty("count").GetInt64();

    /// <summary>The leak report the monitor adds to an automatic dump's diagnostics once the analyzer has run; it must hold no error.</summary>
    internal static async Task<JsonElement> LeakReportAsync(HttpClient client, string dumpId)
    {
        var diagnostics = await Poll.UntilAsync(
            () => client.GetFromJsonAsync<JsonElement>($"/debug/heapdump/{dumpId}/diagnostics"),
            diagnostics => diagnostics.TryGetProperty("leakReport", out var report) && report.ValueKind == JsonValueKind.Object,
            $"the leak report in the diagnostics of {dumpId}",
            TimeSpan.FromMinutes(3));
        var report = diagnostics.GetProperty("leakReport");
        Assert.True(report.GetProperty("error").ValueKind == JsonValueKind.Null, $"The leak report of {dumpId} has an error: {report}");
        return report;
    }

    private static Task<JsonElement> MonitorUntilAsync(HttpClient client, Func<JsonElement, bool> condition, string what) =>
        Poll.UntilAsync(() => client.GetFromJsonAsync<JsonElement>("/debug/monitor"), condition, what);
}
