using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HeapDiag.AspNetCore.Tests.Analysis;

/// <summary>
/// A minimal app with only <c>AddHeapDiagnostics()</c> on a test server, its own temporary dump directory (deleted on
/// dispose) and a log the tests read, for the analysis routes and the analyzer process behind them.
/// </summary>
internal sealed partial class AnalysisTestHost : IAsyncDisposable
{
    private readonly WebApplication app;

    private AnalysisTestHost(WebApplication app, string dumpDirectory, CapturingLoggerProvider logs)
    {
        this.app = app;
        DumpDirectory = dumpDirectory;
        Logs = logs;
        Client = app.GetTestClient();
        Client.Timeout = TimeSpan.FromMinutes(5);
        Client.DefaultRequestHeaders.Add("X-Api-Key", SampleApiFactory.ApiKey);
    }

    public string DumpDirectory { get; }

    public HttpClient Client { get; }

    public CapturingLoggerProvider Logs { get; }

    /// <summary>Process ids of every analyzer started so far, from the log (event 4201).</summary>
    public IReadOnlyList<int> AnalyzerProcessIds =>
        [.. Logs.Entries.Where(e => e.EventId.Id == 4201).Select(e => int.Parse(StartedIn().Match(e.Message).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))];

    /// <summary>Workspaces (and anything in them) left in the dump directory.</summary>
    public IReadOnlyList<string> Workspaces => Directory.GetDirectories(DumpDirectory, "heapdump-*.analysis-*");

    public static async Task<AnalysisTestHost> StartAsync(Action<HeapDiagnosticsOptions>? configure = null, Action<IServiceCollection>? services = null)
    {
        var directory = Directory.CreateTempSubdirectory("heapdiag-analysis-").FullName;
        var logs = new CapturingLoggerProvider();
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders().AddProvider(logs);
        builder.Services.AddHeapDiagnostics(options =>
        {
            options.ApiKeys.Add(SampleApiFactory.ApiKey);
            options.Storage.Directory = directory;
            options.Storage.ReserveBytes = 0;
            options.Capture.MinInterval = TimeSpan.Zero;
            options.Monitor.Enabled = false;
            configure?.Invoke(options);
        });
        services?.Invoke(builder.Services);
        var app = builder.Build();
        await app.StartAsync();
        return new AnalysisTestHost(app, directory, logs);
    }

    /// <summary>A heap dump of this test process.</summary>
    public async Task<string> CaptureAsync()
    {
        using var response = await Client.PostAsync("/debug/heapdump?type=heap", null);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
        Directory.Delete(DumpDirectory, recursive: true);
    }

    [GeneratedRegex(@"in process (\d+)")]
    private static partial Regex StartedIn();
}
