using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HeapDiag.AspNetCore.Tests.Infrastructure;

/// <summary>
/// Hosts SampleApi in memory with a known API key, its own temporary dump directory (deleted on dispose)
/// and a log sink the tests can read. Extra settings and services are applied on top.
/// </summary>
public sealed class SampleApiFactory : WebApplicationFactory<Program>
{
    public const string ApiKey = "test-key-0123456789abcdef0123456789abcdef";

    private readonly Dictionary<string, string?> settings;
    private readonly Action<IServiceCollection>? configureServices;

    public SampleApiFactory(IDictionary<string, string?>? settings = null, Action<IServiceCollection>? configureServices = null)
    {
        DumpDirectory = Directory.CreateTempSubdirectory("heapdiag-test-").FullName;
        this.settings = new Dictionary<string, string?>
        {
            ["HeapDiagnostics:ApiKeys:0"] = ApiKey,
            ["HeapDiagnostics:Storage:Directory"] = DumpDirectory,
            ["HeapDiagnostics:Storage:ReserveBytes"] = "0",
            ["HeapDiagnostics:Capture:MinInterval"] = "00:00:00",

            // Off unless a test turns it on: an automatic dump of the test process would disturb other tests.
            ["HeapDiagnostics:Monitor:Enabled"] = "false",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            this.settings[key] = value;
        }

        this.configureServices = configureServices;
    }

    public string DumpDirectory { get; }

    public CapturingLoggerProvider Logs { get; } = new();

    public HttpClient CreateAuthorizedClient()
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        // Not "Development": the development key in appsettings.Development.json must not leak into tests.
        builder.UseEnvironment("Testing");
        // A null value removes a default setting instead of setting it to "".
        foreach (var (key, value) in settings.Where(setting => setting.Value is not null))
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging => logging.AddProvider(Logs));
        if (configureServices is not null)
        {
            builder.ConfigureServices(configureServices);
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(DumpDirectory))
        {
            Directory.Delete(DumpDirectory, recursive: true);
        }
    }
}
