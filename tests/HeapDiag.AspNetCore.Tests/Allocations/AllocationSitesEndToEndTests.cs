using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.AspNetCore.Tests.Infrastructure;

namespace HeapDiag.AspNetCore.Tests.Allocations;

/// <summary>
/// <c>POST /allocations</c> against a real SampleApi process whose leak keeps growing: the analyzer process samples the
/// app over EventPipe and names the SampleApi method that adds the leaked objects.
/// </summary>
public sealed class AllocationSitesEndToEndTests
{
    internal const string AddingMethod = "SampleApi.Leaks.LeakStore.Leak";

    // The event pattern is released more often: each unsubscription copies the event's invocation list, so releasing
    // many subscribers at once takes time the test would spend not leaking.
    [Theory]
    [InlineData("cache", "SampleApi.Leaks.CachedOrder", 2, 10)]
    [InlineData("events", "PriceSubscriber", 1, 4)]
    public async Task The_sites_of_a_growing_leak_name_the_method_that_adds_it_first(string pattern, string type, int megabytes, int releaseEvery)
    {
        await using var app = await SampleApiProcess.StartAsync(new Dictionary<string, string>());
        using var client = app.CreateAuthorizedClient();
        using var loadClient = app.CreateAuthorizedClient();
        try
        {
            JsonElement report;
            await using (var load = LeakLoad.Start(loadClient, pattern, megabytes, releaseEvery))
            {
                using var response = await client.PostAsync($"/debug/allocations?type={type}&seconds=10", null);
                var body = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {body}\n{app.Output}");
                report = JsonDocument.Parse(body).RootElement;
            }

            Assert.Equal("AllocationSampled", report.GetProperty("eventName").GetString());
            var sites = Assert.Single(report.GetProperty("types").EnumerateArray());
            Assert.EndsWith(type, Assert.Single(sites.GetProperty("matchedTypes").EnumerateArray()).GetString());
            var top = sites.GetProperty("sites")[0];
            Assert.True(top.GetProperty("sharePercent").GetDouble() > 50, sites.ToString());
            Assert.Equal(AddingMethod, top.GetProperty("addedBy").GetString());
            Assert.Equal(AddingMethod, top.GetProperty("allocatingMethod").GetString());
            var frames = top.GetProperty("frames").EnumerateArray().Select(frame => frame.GetString()!).ToList();
            Assert.Equal(AddingMethod, frames[0]);
            Assert.Contains(frames, frame => frame.StartsWith("\u2026 ", StringComparison.Ordinal) && frame.EndsWith(" ASP.NET Core frames", StringComparison.Ordinal));
            Assert.Empty(Directory.EnumerateFileSystemEntries(app.DumpDirectory));
        }
        finally
        {
            await app.DisposeAsync();
            Directory.Delete(app.DumpDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task A_cancelled_session_is_stopped_at_once_and_the_next_one_says_when_a_type_is_no_longer_allocated()
    {
        await using var app = await SampleApiProcess.StartAsync(new Dictionary<string, string>());
        using var client = app.CreateAuthorizedClient();
        try
        {
            using (var cancel = new CancellationTokenSource())
            {
                var sampling = client.PostAsync("/debug/allocations?type=SampleApi.Leaks.CachedOrder&seconds=120", null, cancel.Token);
                await Poll.UntilAsync(() => app.Output.Contains("heapdiag-analyzer: sampling allocations of", StringComparison.Ordinal), "the sampler to open its session");
                await cancel.CancelAsync();
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sampling);
            }

            await Poll.UntilAsync(() => app.Output.Contains("stopped: its caller gave up", StringComparison.Ordinal), "the sampler to stop");

            // The app logs the stop before the aborted request's handler deletes the session's workspace.
            await Poll.UntilAsync(() => NothingLeft(app), "the cancelled session's workspace, trace file and sampler to be gone");
            AssertNothingLeft(app);

            // A new session is accepted (no 409, no leftover session in the runtime's way); nothing leaks now, so it says so.
            using var next = await client.PostAsync("/debug/allocations?type=SampleApi.Leaks.CachedOrder&seconds=2", null);
            var problem = await next.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(next.StatusCode == HttpStatusCode.NotFound, $"{next.StatusCode}: {problem}");
            Assert.Equal("NotAllocated", problem.GetProperty("failure").GetString());
            Assert.Contains("has stopped", problem.GetProperty("detail").GetString());
            AssertNothingLeft(app);
        }
        finally
        {
            await app.DisposeAsync();
            Directory.Delete(app.DumpDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task A_session_past_its_timeout_is_stopped_and_the_next_one_starts()
    {
        await using var app = await SampleApiProcess.StartAsync(new Dictionary<string, string>
        {
            // The window plus this: the analyzer cannot name the frames within a millisecond of the window's end.
            ["HeapDiagnostics__Analysis__Timeout"] = "00:00:00.001",
        });
        using var client = app.CreateAuthorizedClient();
        try
        {
            for (var session = 0; session < 2; session++)
            {
                using var response = await client.PostAsync("/debug/allocations?type=SampleApi.Leaks.CachedOrder&seconds=2", null);
                var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
                Assert.True(response.StatusCode == HttpStatusCode.GatewayTimeout, $"{response.StatusCode}: {problem}\n{app.Output}");
                Assert.Equal("Timeout", problem.GetProperty("failure").GetString());
                AssertNothingLeft(app);
            }
        }
        finally
        {
            await app.DisposeAsync();
            Directory.Delete(app.DumpDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task With_diagnostics_disabled_sampling_is_refused_with_the_fix_and_nothing_starts()
    {
        await using var app = await SampleApiProcess.StartAsync(new Dictionary<string, string> { ["DOTNET_EnableDiagnostics"] = "0" });
        using var client = app.CreateAuthorizedClient();
        try
        {
            using var response = await client.PostAsync("/debug/allocations?type=SampleApi.Leaks.CachedOrder&seconds=5", null);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("DiagnosticsDisabled", problem.GetProperty("failure").GetString());
            Assert.Contains("DOTNET_EnableDiagnostics=0", problem.GetProperty("detail").GetString());
            Assert.Contains("Remove DOTNET_EnableDiagnostics=0", problem.GetProperty("fix").GetString());
            Assert.DoesNotContain("Allocation sampler", app.Output);

            foreach (var query in new[] { "seconds=5", "type=X&seconds=0", "type=X&seconds=301", "type=X&seconds=ten" })
            {
                using var bad = await client.PostAsync($"/debug/allocations?{query}", null);
                Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            }

            using var hello = await client.GetAsync("/hello");
            Assert.Equal(HttpStatusCode.OK, hello.StatusCode);
        }
        finally
        {
            await app.DisposeAsync();
            Directory.Delete(app.DumpDirectory, recursive: true);
        }
    }

    private static bool NothingLeft(SampleApiProcess app) =>
        !Directory.EnumerateFileSystemEntries(app.DumpDirectory).Any()
        && !Directory.EnumerateFiles(Path.GetTempPath(), "*.nettrace").Any()
        && !SamplerProcesses(app.ProcessId).Any();

    /// <summary>No sampler process, no workspace, no trace file: the session left nothing behind.</summary>
    private static void AssertNothingLeft(SampleApiProcess app)
    {
        Assert.Empty(Directory.EnumerateFileSystemEntries(app.DumpDirectory));
        Assert.Empty(Directory.EnumerateFiles(Path.GetTempPath(), "*.nettrace"));
        Assert.Empty(SamplerProcesses(app.ProcessId));
    }

    private static IEnumerable<int> SamplerProcesses(int appId) =>
        Directory.EnumerateDirectories("/proc")
            .Select(Path.GetFileName)
            .Where(name => int.TryParse(name, out _))
            .Select(int.Parse!)
            .Where(pid =>
            {
                try
                {
                    var command = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
                    return command.Contains("HeapDiag.Analyzer.dll sample", StringComparison.Ordinal) && command.Contains($"--pid {appId} ", StringComparison.Ordinal);
                }
                catch (IOException)
                {
                    return false;
                }
            })
            .ToList();
}
