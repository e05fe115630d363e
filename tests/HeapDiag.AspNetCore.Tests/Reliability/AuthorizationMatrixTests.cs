using System.Net;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace HeapDiag.AspNetCore.Tests.Reliability;

/// <summary>
/// Every route the app's endpoint data source holds under the prefix, called as six kinds of caller. The routes
/// come from the app itself, so a new endpoint added without authorization fails this test.
/// </summary>
[Collection(CaptureCollection.Name)]
[Trait("Category", ReliabilityReport.Category)]
public sealed class AuthorizationMatrixTests(ReliabilityReport report)
{
    private const string ExampleId = "20261124T011500123Z-2477-manual-0-heap";

    private static readonly Caller[] Callers =
    [
        new("anonymous", _ => { }, Allowed: false, ExpectedDenial: HttpStatusCode.Unauthorized),
        new("wrong key", r => r.Headers.Add("X-Api-Key", "wrong-key-0123456789abcdef0123456789abcdef"), false, HttpStatusCode.Unauthorized),
        new("short key", r => r.Headers.Add("X-Api-Key", "short"), false, HttpStatusCode.Unauthorized),
        new("right key", r => r.Headers.Add("X-Api-Key", TestHost.ApiKey), true, null),
        new("user without the role", r => { r.Headers.Add("X-Test-User", "bob"); r.Headers.Add("X-Test-Roles", "Reader"); }, false, HttpStatusCode.Forbidden),
        new("user with the role", r => { r.Headers.Add("X-Test-User", "alice"); r.Headers.Add("X-Test-Roles", "HeapDiagnostics"); }, true, null),
    ];

    [Fact]
    public async Task Every_diagnostics_route_denies_everyone_but_key_holders_and_role_holders()
    {
        await using var host = await TestHost.StartAsync(services: services =>
        {
            TestAuthHandler.Register(services);
            TestWriters.Use<FakeHeapDumpWriter>(services);
        });
        using var client = host.CreateClient();

        var endpoints = host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(endpoint => endpoint.RoutePattern.RawText?.StartsWith("/debug", StringComparison.Ordinal) == true)
            .ToList();

        // The page's shell and files are the only anonymous routes (they hold no data; UiEndpointTests covers them).
        var anonymous = endpoints.Where(endpoint => endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null).ToList();
        Assert.All(anonymous, endpoint => Assert.StartsWith("/debug/ui/", endpoint.RoutePattern.RawText));
        var routes = endpoints.Except(anonymous)
            .SelectMany(endpoint => endpoint.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods.Select(method => (method, pattern: endpoint.RoutePattern.RawText!)))
            .ToList();
        Assert.True(routes.Count >= 8, $"only {routes.Count} routes found");

        var calls = 0;
        foreach (var (method, pattern) in routes)
        {
            var url = pattern.Replace("{id}", ExampleId, StringComparison.Ordinal).Replace("{otherId}", ExampleId, StringComparison.Ordinal);
            foreach (var caller in Callers)
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), url);
                caller.Authenticate(request);
                using var response = await client.SendAsync(request);
                calls++;

                if (caller.Allowed)
                {
                    Assert.True(response.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden), $"{caller.Name}: {method} {url} -> {(int)response.StatusCode}");
                }
                else
                {
                    Assert.True(response.StatusCode == caller.ExpectedDenial, $"{caller.Name}: {method} {url} -> {(int)response.StatusCode}, expected {(int)caller.ExpectedDenial!}");
                }
            }
        }

        report.Record("Authorization", "route × caller matrix",
            $"{routes.Count} routes from the app's EndpointDataSource under /debug × {Callers.Length} callers ({string.Join(", ", Callers.Select(c => c.Name))})",
            $"{calls} calls: anonymous, wrong and short keys 401; signed-in user without the role 403; right key and role holder never 401/403");
    }

    private sealed record Caller(string Name, Action<HttpRequestMessage> Authenticate, bool Allowed, HttpStatusCode? ExpectedDenial);
}
