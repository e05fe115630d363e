using System.Security.Claims;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace HeapDiag.AspNetCore.Tests.Ui;

/// <summary>
/// The test host on Kestrel, for a browser, with the app's own cookie sign-in: <c>GET /login</c> signs in a user with the
/// diagnostics role and redirects to the page. The monitor samples every 500 ms (far below its threshold); dumps are
/// written by a fake writer.
/// </summary>
internal static class CookieSignedInHost
{
    public static Task<TestHost> StartAsync(IDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["HeapDiagnostics:Monitor:Enabled"] = "true",
            ["HeapDiagnostics:Monitor:Interval"] = "00:00:00.5",
            ["HeapDiagnostics:Monitor:ThresholdBytes"] = (100L << 30).ToString(System.Globalization.CultureInfo.InvariantCulture), // the monitor never dumps this process
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        return TestHost.StartAsync(
            all,
            services: services =>
            {
                services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie();
                TestWriters.Use<FakeHeapDumpWriter>(services);
            },
            map: app => app.MapGet("/login", async (HttpContext http) =>
            {
                Claim[] claims = [new(ClaimTypes.Name, "alice"), new(ClaimTypes.Role, "HeapDiagnostics")];
                await http.SignInAsync(new ClaimsPrincipal(new ClaimsIdentity(claims, CookieAuthenticationDefaults.AuthenticationScheme)));
                return Results.Redirect("/debug/ui");
            }),
            kestrel: true);
    }
}
