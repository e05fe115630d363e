using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HeapDiag.AspNetCore.Tests.Infrastructure;

/// <summary>
/// The minimal app every library test runs against: <c>WebApplication.CreateBuilder()</c> with only
/// <c>AddHeapDiagnostics()</c>, on the test server (or, for a browser, on Kestrel at 127.0.0.1). It reads no file and no
/// environment variable, only these settings: the API key <see cref="ApiKey"/>, a temporary dump directory of its own
/// (deleted on dispose), no disk reserve, no minimum interval between captures, and the monitor off (an automatic dump
/// of the test process would disturb the other tests). A test's settings go on top; a null value removes one. Every log
/// line is kept in <see cref="Logs"/>.
/// </summary>
internal sealed class TestHost : IAsyncDisposable
{
    public const string ApiKey = "test-key-0123456789abcdef0123456789abcdef";

    /// <summary>The app's name, which the bucket tier puts in its keys (<c>{Prefix}/{app}/…</c>).</summary>
    public const string ApplicationName = "HeapDiag.AspNetCore.Tests";

    private readonly string _ownDirectory;
    private readonly bool _kestrel;
    private HttpClient? _client;

    private TestHost(WebApplication app, string ownDirectory, string dumpDirectory, CapturingLoggerProvider logs, bool kestrel)
    {
        App = app;
        _ownDirectory = ownDirectory;
        DumpDirectory = dumpDirectory;
        Logs = logs;
        _kestrel = kestrel;
    }

    public WebApplication App { get; }

    public IServiceProvider Services => App.Services;

    /// <summary>Where the app writes its dumps (<c>HeapDiagnostics:Storage:Directory</c>).</summary>
    public string DumpDirectory { get; }

    public CapturingLoggerProvider Logs { get; }

    /// <summary>The Kestrel address (with <c>kestrel: true</c>).</summary>
    public Uri BaseAddress => new(App.Urls.First());

    /// <summary>A client with the API key, disposed with the host.</summary>
    public HttpClient Client => _client ??= CreateClient(withKey: true);

    /// <param name="settings">Configuration on top of the defaults (<c>HeapDiagnostics:…</c> keys); a null value removes a default.</param>
    /// <param name="services">The app's own services (its authentication, a stand-in dump writer, …).</param>
    /// <param name="map">The app's own endpoints and middleware, before it starts.</param>
    /// <param name="kestrel">Serve on Kestrel at 127.0.0.1 (for a browser) instead of the test server.</param>
    /// <param name="addHeapDiagnostics">How the app adds HeapDiag; <c>AddHeapDiagnostics()</c> when null.</param>
    public static async Task<TestHost> StartAsync(
        IDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? services = null,
        Action<WebApplication>? map = null,
        bool kestrel = false,
        Action<WebApplicationBuilder>? addHeapDiagnostics = null)
    {
        var directory = Directory.CreateTempSubdirectory("heapdiag-test-").FullName;
        var configuration = Settings(directory, settings);
        var logs = new CapturingLoggerProvider();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ApplicationName = ApplicationName });

        // Nothing from files or the environment: only the settings above (the server's address below is a setting too).
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(configuration);
        if (kestrel)
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
        }
        else
        {
            builder.WebHost.UseTestServer();
        }

        builder.Logging.ClearProviders().AddProvider(logs);
        (addHeapDiagnostics ?? (app => app.Services.AddHeapDiagnostics()))(builder);
        services?.Invoke(builder.Services);
        var app = builder.Build();
        try
        {
            map?.Invoke(app);
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            Directory.Delete(directory, recursive: true);
            throw;
        }

        var dumpDirectory = configuration.GetValueOrDefault("HeapDiagnostics:Storage:Directory") ?? directory;
        return new TestHost(app, directory, Path.GetFullPath(dumpDirectory), logs, kestrel);
    }

    /// <summary>A new client, anonymous unless <paramref name="withKey"/>.</summary>
    public HttpClient CreateClient(bool withKey = false)
    {
        var created = _kestrel ? new HttpClient { BaseAddress = BaseAddress } : App.GetTestClient();

        // Real dumps and their analysis take minutes on a loaded 2-core machine.
        created.Timeout = TimeSpan.FromMinutes(5);
        if (withKey)
        {
            created.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
        }

        return created;
    }

    /// <summary>Captures a dump through <c>POST /debug/heapdump</c> (201 expected) and returns its id.</summary>
    public async Task<string> CaptureAsync(string type = "heap") =>
        (await CaptureResultAsync(type)).GetProperty("id").GetString()!;

    /// <summary>Captures a dump through <c>POST /debug/heapdump</c> (201 expected) and returns the capture result.</summary>
    public async Task<JsonElement> CaptureResultAsync(string type = "heap")
    {
        using var response = await Client.PostAsync($"/debug/heapdump?type={type}", null);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>The defaults, with a test's settings on top (a null value removes a default).</summary>
    private static Dictionary<string, string?> Settings(string directory, IDictionary<string, string?>? settings)
    {
        var configuration = new Dictionary<string, string?>
        {
            ["HeapDiagnostics:ApiKeys:0"] = ApiKey,
            ["HeapDiagnostics:Storage:Directory"] = directory,
            ["HeapDiagnostics:Storage:ReserveBytes"] = "0",
            ["HeapDiagnostics:Capture:MinInterval"] = "00:00:00",
            ["HeapDiagnostics:Monitor:Enabled"] = "false",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                configuration.Remove(key);
            }
            else
            {
                configuration[key] = value;
            }
        }

        return configuration;
    }

    public async ValueTask DisposeAsync()
    {
        _client?.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        if (Directory.Exists(_ownDirectory))
        {
            Directory.Delete(_ownDirectory, recursive: true);
        }
    }
}
