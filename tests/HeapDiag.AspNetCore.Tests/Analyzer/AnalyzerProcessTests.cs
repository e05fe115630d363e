using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.AspNetCore.Analyzer;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace HeapDiag.AspNetCore.Tests.Analyzer;

/// <summary>
/// Every analysis runs in the analyzer process, never on the app's heap: a child started within a memory budget,
/// killed when its caller gives up or its time is up, leaving nothing behind; refused with the numbers when the
/// budget is too small, and explained when it cannot start at all.
/// </summary>
[Collection(CaptureCollection.Name)]
public sealed partial class AnalyzerProcessTests
{
    /// <summary>The leak this test process carries while it dumps itself: the suspects must name this field.</summary>
    private static readonly List<LeakedItem> Cache = [];

    [Fact]
    public async Task Suspects_come_from_a_child_process_name_the_leaking_field_and_are_kept_beside_the_dump()
    {
        await using var host = await TestHost.StartAsync();
        try
        {
            Leak(150_000);
            var before = await host.CaptureAsync();
            Leak(150_000);
            var after = await host.CaptureAsync();

            var report = await host.Client.GetFromJsonAsync<JsonElement>($"/debug/heapdump/{after}/suspects");
            var compared = await host.Client.GetFromJsonAsync<JsonElement>($"/debug/heapdump/{after}/suspects?baseline={before}");
            using var summary = await host.Client.GetAsync($"/debug/heapdump/{after}/summary");

            var cache = CacheSuspect(report);
            Assert.Equal($"System.Collections.Generic.List<{typeof(LeakedItem).FullName}>", cache.GetProperty("accumulationPoint").GetProperty("typeName").GetString());
            Assert.Equal(300_000, cache.GetProperty("holds").GetProperty("count").GetInt64());
            Assert.Equal($"static {CacheField}", cache.GetProperty("rootPath").GetProperty("text").GetString());
            var growth = CacheSuspect(compared).GetProperty("growth");
            Assert.False(growth.GetProperty("isNew").GetBoolean());
            Assert.True(growth.GetProperty("retainedBytesDelta").GetInt64() > 150_000L * 200, growth.ToString());

            // One analyzer per dump, each in a process of its own; the summary came from the same run.
            Assert.Equal(HttpStatusCode.OK, summary.StatusCode);
            Assert.Equal(2, AnalyzerProcessIds(host).Count);
            Assert.DoesNotContain(Environment.ProcessId, AnalyzerProcessIds(host));
            foreach (var id in new[] { before, after })
            {
                Assert.True(File.Exists(Path.Combine(host.DumpDirectory, $"heapdump-{id}.suspects.json")));
                Assert.True(File.Exists(Path.Combine(host.DumpDirectory, $"heapdump-{id}.summary.json")));
            }

            Assert.Empty(Workspaces(host));
            Assert.Contains(host.Logs.Entries, e => e.EventId.Id == 4202 && e.Message.Contains("heapdiag-analyzer: suspects:", StringComparison.Ordinal));
        }
        finally
        {
            Release();
        }
    }

    [Fact]
    public async Task Cancelling_the_request_kills_the_analyzer_and_leaves_no_files()
    {
        await using var host = await TestHost.StartAsync();
        var id = await host.CaptureAsync();
        using var cancel = new CancellationTokenSource();

        var request = host.Client.GetAsync($"/debug/heapdump/{id}/suspects", cancel.Token);
        await Poll.UntilAsync(() => AnalyzerProcessIds(host).Count == 1, "the analyzer to start");
        var analyzer = AnalyzerProcessIds(host)[0];
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        await Poll.UntilAsync(() => !IsRunning(analyzer), $"analyzer process {analyzer} to end");
        await Poll.UntilAsync(() => Workspaces(host).Count == 0, "the analyzer's workspace to be removed");
        Assert.DoesNotContain(Directory.GetFiles(host.DumpDirectory, "*.json"), f => !f.EndsWith(".diagnostics.json", StringComparison.Ordinal));
        Assert.Contains(host.Logs.Entries, e => e.EventId.Id == 4205);
    }

    [Fact]
    public async Task An_analysis_past_the_timeout_is_stopped_with_504()
    {
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?> { ["HeapDiagnostics:Analysis:Timeout"] = "00:00:00.2" });
        var id = await host.CaptureAsync();

        using var response = await host.Client.GetAsync($"/debug/heapdump/{id}/suspects");

        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("AnalysisTimeout", problem.GetProperty("failure").GetString());
        Assert.Contains("HeapDiagnostics:Analysis:Timeout", problem.GetProperty("detail").GetString());
        Assert.False(IsRunning(Assert.Single(AnalyzerProcessIds(host))));
        Assert.Empty(Workspaces(host));
    }

    [Fact]
    public async Task A_budget_too_small_for_the_dump_is_refused_with_503_and_the_numbers_before_any_analyzer_starts()
    {
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?> { ["HeapDiagnostics:Analysis:MaxMemoryBytes"] = (64L << 20).ToString(CultureInfo.InvariantCulture) });
        var id = await host.CaptureAsync();

        using var response = await host.Client.GetAsync($"/debug/heapdump/{id}/suspects");

        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("AnalysisBudget", problem.GetProperty("failure").GetString());
        Assert.Equal(64L << 20, problem.GetProperty("budgetBytes").GetInt64());
        Assert.True(problem.GetProperty("neededBytes").GetInt64() > 64L << 20);
        Assert.Contains("HeapDiagnostics:Analysis:MaxMemoryBytes", problem.GetProperty("detail").GetString());
        Assert.Contains("heapdiag suspects FILE", problem.GetProperty("fix").GetString());
        Assert.Empty(AnalyzerProcessIds(host));
        Assert.Empty(Workspaces(host));
    }

    [Fact]
    public async Task With_analysis_off_every_analysis_route_answers_503_and_names_the_setting()
    {
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?> { ["HeapDiagnostics:Analysis:Mode"] = "Off" });
        var id = await host.CaptureAsync();

        foreach (var route in new[] { "summary", "suspects", "retainers?type=System.String" })
        {
            using var response = await host.Client.GetAsync($"/debug/heapdump/{id}/{route}");
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("AnalysisOff", problem.GetProperty("failure").GetString());
        }

        var analysis = (await host.Client.GetFromJsonAsync<JsonElement>("/debug/heapdump/capabilities")).GetProperty("analysis");
        Assert.False(analysis.GetProperty("canAnalyze").GetBoolean());
        Assert.Equal("Off", analysis.GetProperty("mode").GetString());
        Assert.Empty(AnalyzerProcessIds(host));
    }

    [Fact]
    public async Task Without_a_runtime_host_capabilities_and_the_routes_say_so_and_name_the_fix()
    {
        var appDirectory = Directory.CreateTempSubdirectory("heapdiag-single-file-").FullName;
        try
        {
            // As a self-contained single-file app sees it: started as its own executable, no dotnet, no analyzer beside it.
            var singleFile = AnalyzerHost.Locate(Path.Combine(appDirectory, "MyApp"), Path.Combine(appDirectory, "runtime") + "/", appDirectory, dotnetRoot: null);
            await using var host = await TestHost.StartAsync(services: s => s.Replace(ServiceDescriptor.Singleton(singleFile)));
            var id = await host.CaptureAsync();

            var analysis = (await host.Client.GetFromJsonAsync<JsonElement>("/debug/heapdump/capabilities")).GetProperty("analysis");
            using var response = await host.Client.GetAsync($"/debug/heapdump/{id}/suspects");

            Assert.False(analysis.GetProperty("canAnalyze").GetBoolean());
            Assert.Contains("No .NET runtime host", analysis.GetProperty("problem").GetString());
            Assert.Contains("single file", analysis.GetProperty("fix").GetString());
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("AnalyzerUnavailable", problem.GetProperty("failure").GetString());
            Assert.Contains("HeapDiagnostics:Analysis:Mode=Off", problem.GetProperty("fix").GetString());
            Assert.Empty(AnalyzerProcessIds(host));
        }
        finally
        {
            Directory.Delete(appDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task Capabilities_describe_the_analyzer_and_its_budget()
    {
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?> { ["HeapDiagnostics:Analysis:MaxMemoryBytes"] = (300L << 20).ToString(CultureInfo.InvariantCulture) });

        var analysis = (await host.Client.GetFromJsonAsync<JsonElement>("/debug/heapdump/capabilities")).GetProperty("analysis");

        Assert.True(analysis.GetProperty("canAnalyze").GetBoolean());
        Assert.Equal("ChildProcess", analysis.GetProperty("mode").GetString());
        Assert.Equal(300L << 20, analysis.GetProperty("budgetBytes").GetInt64());
        Assert.Contains("MaxMemoryBytes", analysis.GetProperty("budget").GetString());
        Assert.Equal(600, analysis.GetProperty("timeoutSeconds").GetDouble());
        Assert.EndsWith("dotnet", analysis.GetProperty("host").GetString());
    }

    private static string CacheField => $"{typeof(AnalyzerProcessTests).FullName}.{nameof(Cache)}";

    private static JsonElement CacheSuspect(JsonElement report) =>
        report.GetProperty("suspects").EnumerateArray().Single(s => s.GetProperty("accumulationPoint").GetProperty("displayName").GetString() == $"static {CacheField}");

    private static bool IsRunning(int processId) => Directory.Exists($"/proc/{processId}");

    /// <summary>Process ids of every analyzer the host started so far, from its log (event 4201).</summary>
    private static List<int> AnalyzerProcessIds(TestHost host) =>
        [.. host.Logs.Entries.Where(e => e.EventId.Id == 4201).Select(e => int.Parse(StartedIn().Match(e.Message).Groups[1].Value, CultureInfo.InvariantCulture))];

    /// <summary>Analyzer workspaces (and anything in them) left in the dump directory.</summary>
    private static List<string> Workspaces(TestHost host) => [.. Directory.GetDirectories(host.DumpDirectory, "heapdump-*.analysis-*")];

    private static void Leak(int count)
    {
        lock (Cache)
        {
            Cache.AddRange(Enumerable.Range(0, count).Select(i => new LeakedItem(new byte[200])));
        }
    }

    private static void Release()
    {
        lock (Cache)
        {
            Cache.Clear();
            Cache.TrimExcess();
        }
    }

    // Fully qualified: the regular expressions namespace has a CaptureCollection of its own.
    [System.Text.RegularExpressions.GeneratedRegex(@"in process (\d+)")]
    private static partial System.Text.RegularExpressions.Regex StartedIn();

    /// <summary>What leaks: an object with a buffer of its own.</summary>
    private sealed record LeakedItem(byte[] Buffer);
}
