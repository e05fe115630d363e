using System.Net;
using System.Security.Claims;
using System.Text.Json;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HeapDiag.AspNetCore.Tests.Ui;

/// <summary>
/// A minimal app with AddHeapDiagnostics(), on the test server or, for a browser, on Kestrel at 127.0.0.1. The API
/// key is <see cref="SampleApiFactory.ApiKey"/>; dumps go to a temp directory deleted on dispose; the monitor is off
/// unless a test turns it on.
/// </summary>
internal sealed class UiTestHost : IAsyncDisposable
{
    private UiTestHost(WebApplication app, string dumpDirectory)
    {
        App = app;
        DumpDirectory = dumpDirectory;
    }

    public WebApplication App { get; }

    public string DumpDirectory { get; }

    public IServiceProvider Services => App.Services;

    /// <summary>The Kestrel address (with <c>kestrel: true</c>).</summary>
    public Uri BaseAddress => new(App.Urls.First());

    public static async Task<UiTestHost> StartAsync(
        Action<HeapDiagnosticsOptions>? configure = null,
        Action<IServiceCollection>? services = null,
        Action<WebApplication>? map = null,
        bool kestrel = false)
    {
        var dumpDirectory = Directory.CreateTempSubdirectory("heapdiag-ui-").FullName;
        var builder = WebApplication.CreateBuilder();
        if (kestrel)
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
        }
        else
        {
            builder.WebHost.UseTestServer();
        }

        builder.Logging.ClearProviders();
        builder.Services.AddHeapDiagnostics(options =>
        {
            options.ApiKeys.Add(SampleApiFactory.ApiKey);
            options.Storage.Directory = dumpDirectory;
            options.Storage.ReserveBytes = 0;
            options.Capture.MinInterval = TimeSpan.Zero;
            options.Monitor.Enabled = false;
            configure?.Invoke(options);
        });
        services?.Invoke(builder.Services);
        var app = builder.Build();
        map?.Invoke(app);
        await app.StartAsync();
        return new UiTestHost(app, dumpDirectory);
    }

    /// <summary>
    /// On Kestrel, with the app's own cookie sign-in: <c>GET /login</c> signs in a user with the diagnostics role and
    /// redirects to the page. The monitor samples every 500 ms (far below its threshold); dumps are written by a fake writer.
    /// </summary>
    public static Task<UiTestHost> StartSignedInByCookieAsync(Action<HeapDiagnosticsOptions>? configure = null) => StartAsync(
        options =>
        {
            options.Monitor.Enabled = true;
            options.Monitor.Interval = TimeSpan.FromMilliseconds(500);
            options.Monitor.ThresholdBytes = 100L << 30; // far above this test process: the monitor never dumps it
            configure?.Invoke(options);
        },
        services =>
        {
            services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie();
            TestWriters.Use<FakeHeapDumpWriter>(services);
        },
        app => app.MapGet("/login", async (HttpContext http) =>
        {
            Claim[] claims = [new(ClaimTypes.Name, "alice"), new(ClaimTypes.Role, "HeapDiagnostics")];
            await http.SignInAsync(new ClaimsPrincipal(new ClaimsIdentity(claims, CookieAuthenticationDefaults.AuthenticationScheme)));
            return Results.Redirect("/debug/ui");
        }),
        kestrel: true);

    /// <summary>Captures a dump through the route (the test's writer decides what is written) and returns its id.</summary>
    public static async Task<string> CaptureAsync(HttpClient client)
    {
        using var response = await client.PostAsync("/debug/heapdump", null);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
    }

    public HttpClient CreateClient(bool withKey = false)
    {
        var client = App.GetTestClient();
        if (withKey)
        {
            client.DefaultRequestHeaders.Add("X-Api-Key", SampleApiFactory.ApiKey);
        }

        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        Directory.Delete(DumpDirectory, recursive: true);
    }
}
