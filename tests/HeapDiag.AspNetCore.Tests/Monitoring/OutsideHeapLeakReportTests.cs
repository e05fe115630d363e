using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.AspNetCore.Tests.Infrastructure;

namespace HeapDiag.AspNetCore.Tests.Monitoring;

/// <summary>A leak outside the GC heap that crosses the threshold: the automatic report says where it is before any managed suspect.</summary>
public sealed class OutsideHeapLeakReportTests
{
    private const long Mb = 1024 * 1024;

    [Fact]
    public async Task A_native_leak_past_the_threshold_is_headlined_as_native_heap_not_a_managed_type()
    {
        await using var app = await SampleApiProcess.StartAsync(new Dictionary<string, string>
        {
            ["HeapDiagnostics__Monitor__Interval"] = "00:00:01",
            ["HeapDiagnostics__Monitor__ThresholdBytes"] = (350 * Mb).ToString(),
        });
        using var client = app.CreateAuthorizedClient();
        try
        {
            var idle = (await client.GetFromJsonAsync<JsonElement>("/debug/monitor")).GetProperty("lastSample").GetProperty("workingSetBytes").GetInt64();
            Assert.True(idle < 250 * Mb, $"SampleApi idles at {idle / Mb} MB, too close to the 350 MB threshold for this test");

            using (var leak = await client.PostAsync("/leak/native?mb=300", null))
            {
                Assert.Equal(HttpStatusCode.OK, leak.StatusCode);
            }

            var status = await Poll.UntilAsync(
                () => client.GetFromJsonAsync<JsonElement>("/debug/monitor"), s => s.GetProperty("autoDumps").GetArrayLength() >= 1, "the automatic dump");
            var dumpId = status.GetProperty("autoDumps")[0].GetProperty("id").GetString()!;
            var report = await AutoDumpEndToEndTests.LeakReportAsync(client, dumpId);

            var headline = report.GetProperty("headline").GetString()!;
            Assert.StartsWith("Working set +", headline);
            Assert.Contains("of which native heap +", headline);
            Assert.Contains("a heap dump will not show this leak", headline);
            Assert.Contains("MALLOC_ARENA_MAX", headline);
            Assert.True(headline.IndexOf("native heap", StringComparison.Ordinal) < headline.IndexOf("Managed suspects (secondary)", StringComparison.Ordinal), headline);
            Assert.Equal("nativeHeap", report.GetProperty("outsideHeap").GetProperty("kind").GetString());

            // The dump's own diagnostics hold the map it was judged by.
            var diagnostics = await client.GetFromJsonAsync<JsonElement>($"/debug/heapdump/{dumpId}/diagnostics");
            var growth = diagnostics.GetProperty("memoryMap").GetProperty("growthSinceStart");
            Assert.Equal("nativeHeap", growth.GetProperty("kinds")[0].GetProperty("kind").GetString());
            Assert.True(growth.GetProperty("kinds")[0].GetProperty("bytes").GetInt64() > 250 * Mb, growth.ToString());
        }
        finally
        {
            await app.DisposeAsync();
            Directory.Delete(app.DumpDirectory, recursive: true);
        }
    }
}
