using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using HeapDiag.AspNetCore.Tests.Deployment;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Xunit.Abstractions;

namespace HeapDiag.AspNetCore.Tests.Monitoring;

/// <summary>
/// The promise, where production keeps it: SampleApi in a real memory cgroup with docker-compose.yml's limit and
/// settings (automatic dump at 75 % of the limit the GC sees), leaking past the threshold. Exactly one automatic dump,
/// a leak report that names the leaking collection, no OutOfMemoryException, no OOM kill — and the app itself
/// allocates little for all that, because the analysis runs in the analyzer process, not on the app's heap.
/// </summary>
public sealed partial class NearLimitTests(ITestOutputHelper output)
{
    private const long Mb = 1024 * 1024;

    /// <summary>The app's own allocations for one automatic dump and its report (the leak's own excluded).</summary>
    private const long AllocationBudget = 64 * Mb;

    [RequiresMemoryCgroupFact]
    public async Task A_leak_near_the_container_limit_gives_one_dump_an_analysed_report_and_no_out_of_memory()
    {
        await using var cgroup = MemoryCgroup.Create($"heapdiag-near-limit-{Environment.ProcessId}", ComposeMemoryLimit());
        var settings = ContainerLikeStartTests.ComposeEnvironment()
            .Where(e => e.Key.StartsWith("HeapDiagnostics__", StringComparison.Ordinal) && e.Key is not ("HeapDiagnostics__Storage__Directory" or "HeapDiagnostics__ApiKeys__0"))
            .ToDictionary(e => e.Key, e => e.Value);
        Assert.Equal("75", settings["HeapDiagnostics__Monitor__ThresholdPercentOfLimit"]);
        settings["HeapDiagnostics__Monitor__Interval"] = "00:00:02";
        await using var app = await SampleApiProcess.StartAsync(settings, cgroup: cgroup);
        using var client = app.CreateAuthorizedClient();
        try
        {
            var threshold = (await client.GetFromJsonAsync<JsonElement>("/debug/monitor")).GetProperty("threshold");
            Assert.Equal("percentOfLimit", threshold.GetProperty("source").GetString());
            var allocatedBefore = await AllocatedAsync(client);

            // Enough to cross the threshold (75 % of the 768 MiB the GC sees in a 1 GiB group) in one request.
            using var leak = await client.PostAsync("/leak/cache?mb=550", null);
            Assert.Equal(HttpStatusCode.OK, leak.StatusCode);
            var leaked = (await leak.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("allocatedBytes").GetInt64();

            var autoDumps = await Poll.UntilAsync(
                async () => (await client.GetFromJsonAsync<JsonElement>("/debug/monitor")).GetProperty("autoDumps"), dumps => dumps.GetArrayLength() >= 1, "the automatic dump", TimeSpan.FromMinutes(3));
            var dumpId = autoDumps[0].GetProperty("id").GetString()!;
            var report = await AutoDumpEndToEndTests.LeakReportAsync(client, dumpId);
            var appAllocated = await AllocatedAsync(client) - allocatedBefore - leaked;

            var monitor = await client.GetFromJsonAsync<JsonElement>("/debug/monitor");
            var budget = BudgetLine().Match(app.Output).Groups[1].Value;
            output.WriteLine($"threshold {threshold.GetProperty("bytes").GetInt64() / Mb} MB of a {cgroup.PeakBytes / Mb} MB peak; app allocated {appAllocated / Mb} MB besides the leak's {leaked / Mb} MB; analyzer budget {budget}");
            output.WriteLine($"cgroup: peak {cgroup.PeakBytes:N0} bytes, limit reached {cgroup.LimitHits:N0} times (page cache reclaimed), OOM kills {cgroup.OomKills}");
            output.WriteLine($"report: {report.GetProperty("headline").GetString()}");

            Assert.True(monitor.GetProperty("autoDumps").GetArrayLength() == 1, monitor.ToString());
            Assert.StartsWith("SampleApi.Leaks.LeakStore._cache (List<CachedOrder>, ", report.GetProperty("headline").GetString());
            Assert.Contains("path: singleton SampleApi.Leaks.LeakStore (service provider) \u2192 LeakStore._cache [fingerprint ", report.GetProperty("headline").GetString());
            Assert.DoesNotContain("OutOfMemoryException", app.Output, StringComparison.Ordinal);
            Assert.Equal(0, cgroup.OomKills);
            Assert.True(appAllocated <= AllocationBudget, $"the app allocated {appAllocated:N0} bytes for the dump and its report");
            Assert.Contains("Analyzer started: analyze of", app.Output, StringComparison.Ordinal);
        }
        finally
        {
            await app.DisposeAsync();
            Directory.Delete(app.DumpDirectory, recursive: true);
        }
    }

    private static async Task<long> AllocatedAsync(HttpClient client) =>
        (await client.GetFromJsonAsync<JsonElement>("/debug/memory")).GetProperty("memoryUsage").GetProperty("totalAllocatedBytes").GetInt64();

    /// <summary>The memory limit of the compose file's app service (<c>mem_limit: 1g</c>).</summary>
    private static long ComposeMemoryLimit()
    {
        var limit = MemLimit().Match(File.ReadAllText(Path.Combine(Repository.Root, "docker-compose.yml")));
        Assert.True(limit.Success, "docker-compose.yml sets no mem_limit in gigabytes");
        return long.Parse(limit.Groups[1].Value, CultureInfo.InvariantCulture) << 30;
    }

    [GeneratedRegex(@"mem_limit:\s*(\d+)g")]
    private static partial Regex MemLimit();

    [GeneratedRegex(@"memory budget (\S+ bytes[^\r\n]*)")]
    private static partial Regex BudgetLine();
}
