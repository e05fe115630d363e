using System.Collections.Concurrent;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;
using Serilog.Events;

namespace HeapDiag.AspNetCore.Tests.Sample;

/// <summary>
/// SampleApi's real <c>Program</c> in memory, as ASP.NET Core users test their apps: the environment <c>Testing</c> (so
/// no development key), the test key, a temporary dump directory of its own (deleted on dispose), no disk reserve, no
/// minimum interval between captures, and the monitor off (an automatic dump of the test process would disturb the
/// other tests). A test's settings go on top. Every Serilog event is kept in <see cref="Events"/>: the sample reads
/// sinks from DI (<c>ReadFrom.Services</c>), so the factory registers one.
/// </summary>
public sealed class SampleApiFactory(IReadOnlyDictionary<string, string?>? settings = null) : WebApplicationFactory<Program>
{
    public string DumpDirectory { get; } = Directory.CreateTempSubdirectory("heapdiag-waf-").FullName;

    public EventSink Events { get; } = new();

    public HttpClient CreateAuthorizedClient()
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", TestHost.ApiKey);
        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.ConfigureAppConfiguration(configuration => configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["HeapDiagnostics:ApiKeys:0"] = TestHost.ApiKey,
            ["HeapDiagnostics:Storage:Directory"] = DumpDirectory,
            ["HeapDiagnostics:Storage:ReserveBytes"] = "0",
            ["HeapDiagnostics:Capture:MinInterval"] = "00:00:00",
            ["HeapDiagnostics:Monitor:Enabled"] = "false",
        }.Concat(settings ?? new Dictionary<string, string?>())));
        builder.ConfigureServices(services => services.AddSingleton<ILogEventSink>(Events));
    }

    /// <summary>Stops the app and deletes its dump directory, also when stopping the app fails.</summary>
    public override async ValueTask DisposeAsync()
    {
        try
        {
            await base.DisposeAsync();
        }
        finally
        {
            DeleteDumpDirectory();
        }
    }

    protected override void Dispose(bool disposing)
    {
        try
        {
            base.Dispose(disposing);
        }
        finally
        {
            DeleteDumpDirectory();
        }
    }

    private void DeleteDumpDirectory()
    {
        if (Directory.Exists(DumpDirectory))
        {
            Directory.Delete(DumpDirectory, recursive: true);
        }
    }

    /// <summary>The Serilog events the app wrote, in order.</summary>
    public sealed class EventSink : ILogEventSink
    {
        private readonly ConcurrentQueue<LogEvent> _events = new();

        public void Emit(LogEvent logEvent) => _events.Enqueue(logEvent);

        /// <summary>Waits for the first event that matches, as a request's log line is written after its answer.</summary>
        public async Task<LogEvent> WaitForAsync(Func<LogEvent, bool> match, string what) =>
            (await Poll.UntilAsync(() => Task.FromResult(_events.FirstOrDefault(match)), e => e is not null, $"{what} among the events so far:\n{this}"))!;

        public override string ToString() => string.Join('\n', _events.Select(e => $"{e.Level} {e.MessageTemplate.Text} {string.Join(", ", e.Properties.Select(p => $"{p.Key}={p.Value}"))}"));
    }
}
