using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using HeapDiag.AspNetCore.Tests.Monitoring;

namespace HeapDiag.AspNetCore.Tests.Allocations;

/// <summary>
/// The whole loop in a real SampleApi process: a leak passes the threshold, the automatic report finds the suspect,
/// and while the leak keeps growing the monitor samples what the suspect holds and names the code that adds it.
/// </summary>
public sealed class AutoReportAllocationSitesTests
{
    private const long Mb = 1024 * 1024;

    [Fact]
    public async Task The_automatic_report_of_a_growing_leak_names_the_method_that_adds_to_it()
    {
        await using var app = await SampleApiProcess.StartAsync(new Dictionary<string, string>
        {
            ["HeapDiagnostics__Monitor__Interval"] = "00:00:01",
            ["HeapDiagnostics__Monitor__ThresholdBytes"] = (400 * Mb).ToString(),
            ["HeapDiagnostics__Analysis__AllocationSites__Duration"] = "00:00:08",
        });
        using var client = app.CreateAuthorizedClient();
        using var loadClient = app.CreateAuthorizedClient();
        try
        {
            (await client.PostAsync("/leak/cache?mb=450", null)).Dispose();
            var status = await Poll.UntilAsync(
                () => client.GetFromJsonAsync<JsonElement>("/debug/monitor"), s => s.GetProperty("autoDumps").GetArrayLength() >= 1, "the automatic dump");
            var dumpId = status.GetProperty("autoDumps")[0].GetProperty("id").GetString()!;

            // Once the report has found the suspect and sampling starts, the leak keeps growing (and is released now and
            // then, so memory stays bounded). Not before: the analysis of the dump would compete with it for the cores.
            await Poll.UntilAsync(
                () => app.Output.Contains("heapdiag-analyzer: sampling allocations of SampleApi.Leaks.CachedOrder", StringComparison.Ordinal),
                "the monitor to sample what the suspect holds",
                TimeSpan.FromMinutes(5));
            JsonElement report;
            await using (LeakLoad.Start(loadClient, "cache"))
            {
                report = await AutoDumpEndToEndTests.LeakReportAsync(client, dumpId);
            }

            var suspect = report.GetProperty("suspects")[0];
            var sites = suspect.GetProperty("allocationSites");
            Assert.Equal("SampleApi.Leaks.CachedOrder", sites.GetProperty("typeName").GetString());
            var top = sites.GetProperty("sites")[0];
            Assert.Equal(AllocationSitesEndToEndTests.AddingMethod, top.GetProperty("addedBy").GetString());
            Assert.True(top.GetProperty("sharePercent").GetDouble() > 50, $"{sites}\n{app.Output}");

            var headline = report.GetProperty("headline").GetString()!;
            Assert.Matches(new Regex(@"; added by SampleApi\.Leaks\.LeakStore\.Leak \(\d+ % of sampled CachedOrder allocations\)$"), headline);
            // The report is answered once stored; its log line follows it.
            await Poll.UntilAsync(
                () => app.Output.Contains($"Leak report for automatic dump {dumpId}", StringComparison.Ordinal) && app.Output.Contains(headline, StringComparison.Ordinal),
                "the leak report's log line");

            // The dump's suspects carry the sites sampled after it.
            var suspects = await client.GetFromJsonAsync<JsonElement>($"/debug/heapdump/{dumpId}/suspects");
            Assert.Equal(
                AllocationSitesEndToEndTests.AddingMethod,
                suspects.GetProperty("suspects")[0].GetProperty("allocationSites").GetProperty("sites")[0].GetProperty("addedBy").GetString());
        }
        finally
        {
            await app.DisposeAsync();
            Directory.Delete(app.DumpDirectory, recursive: true);
        }
    }
}
