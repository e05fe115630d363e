using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using HeapDiag.AspNetCore.Tests.Infrastructure;

namespace HeapDiag.AspNetCore.Tests.Analyzer;

/// <summary>
/// No analyzer outlives the app: killed outright (as an OOM kill or a crash ends it), the app cannot stop its
/// analyzer, so the analyzer notices (its standard input closes) and ends itself, leaving its workspace without
/// results; the app's next start removes that workspace.
/// </summary>
public sealed partial class AnalyzerOrphanTests
{
    [Fact]
    public async Task An_analyzer_whose_app_is_killed_ends_by_itself()
    {
        await using var app = await SampleApiProcess.StartAsync(new Dictionary<string, string>());
        using var client = app.CreateAuthorizedClient();
        try
        {
            // Large enough that the analysis is still reading the dump when the app dies.
            (await client.PostAsync("/leak/cache?mb=400", null)).Dispose();
            using var capture = await client.PostAsync("/debug/heapdump", null);
            Assert.Equal(HttpStatusCode.Created, capture.StatusCode);
            var id = (await capture.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();

            var suspects = client.GetAsync($"/debug/heapdump/{id}/suspects");
            await Poll.UntilAsync(() => AnalyzerStarted().IsMatch(app.Output), "the analyzer to start");
            var analyzer = int.Parse(AnalyzerStarted().Match(app.Output).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

            // SIGKILL to the app alone: nothing of it runs any more to stop the analyzer.
            using (var kill = Process.Start("kill", ["-KILL", app.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            await Assert.ThrowsAnyAsync<HttpRequestException>(() => suspects);
            await Poll.UntilAsync(() => !Directory.Exists($"/proc/{analyzer}") || IsZombie(analyzer), $"analyzer {analyzer} to end after its app was killed");
            var workspace = Assert.Single(Directory.GetDirectories(app.DumpDirectory, "heapdump-*.analysis-*"));
            Assert.False(File.Exists(Path.Combine(workspace, "suspects.json")), "the analyzer finished its work instead of stopping when its app died");

            await using var restarted = await SampleApiProcess.StartAsync(new Dictionary<string, string>(), app.DumpDirectory);
            Assert.Empty(Directory.GetDirectories(app.DumpDirectory, "heapdump-*.analysis-*"));
        }
        finally
        {
            await app.DisposeAsync();
            Directory.Delete(app.DumpDirectory, recursive: true);
        }
    }

    /// <summary>An orphan that has exited but whose new parent has not reaped it yet counts as ended.</summary>
    private static bool IsZombie(int processId) =>
        File.Exists($"/proc/{processId}/stat") && File.ReadAllText($"/proc/{processId}/stat").Split(") ")[^1].StartsWith('Z');

    [GeneratedRegex(@"Analyzer started: analyze of \S+ in process (\d+)")]
    private static partial Regex AnalyzerStarted();
}
