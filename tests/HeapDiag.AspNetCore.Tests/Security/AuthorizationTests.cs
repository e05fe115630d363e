using System.Net;
using System.Net.Http.Json;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Mvc;

namespace HeapDiag.AspNetCore.Tests.Security;

/// <summary>
/// Who gets in: API key holders and the app's own users with the role; everyone else gets a problem that says how to get
/// in. Calls are audited without the key, and the app's own endpoints are left alone.
/// </summary>
public sealed class AuthorizationTests : IAsyncLifetime
{
    private TestHost _host = null!;

    public async Task InitializeAsync() =>
        _host = await TestHost.StartAsync(services: TestAuthHandler.Register, map: app => app.MapGet("/hello", () => "Hello"));

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Anonymous_call_gets_401_problem_that_says_how_to_get_in()
    {
        using var client = _host.CreateClient();

        using var response = await client.GetAsync("/debug/memory");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<ProblemDetails>();
        Assert.Contains("X-Api-Key", problem!.Detail);
    }

    [Fact]
    public async Task Wrong_key_gets_401()
    {
        using var client = _host.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", "wrong-key-0123456789abcdef0123456789abcdef");

        using var response = await client.GetAsync("/debug/memory");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Right_key_gets_200()
    {
        var client = _host.Client;

        using var response = await client.GetAsync("/debug/memory");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Signed_in_user_with_the_role_gets_200_and_without_it_403()
    {
        using var client = _host.CreateClient();

        using var withRole = new HttpRequestMessage(HttpMethod.Get, "/debug/memory");
        withRole.Headers.Add("X-Test-User", "alice");
        withRole.Headers.Add("X-Test-Roles", "Reader,HeapDiagnostics");
        using var allowed = await client.SendAsync(withRole);

        using var withoutRole = new HttpRequestMessage(HttpMethod.Get, "/debug/memory");
        withoutRole.Headers.Add("X-Test-User", "bob");
        withoutRole.Headers.Add("X-Test-Roles", "Reader");
        using var denied = await client.SendAsync(withoutRole);

        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        var problem = await denied.Content.ReadFromJsonAsync<ProblemDetails>();
        Assert.Contains("'HeapDiagnostics' role", problem!.Detail);
    }

    [Fact]
    public async Task The_apps_own_endpoints_are_unaffected()
    {
        using var client = _host.CreateClient();

        using var hello = await client.GetAsync("/hello");

        Assert.Equal(HttpStatusCode.OK, hello.StatusCode);
    }

    [Fact]
    public async Task Calls_are_logged_with_the_caller_and_outcome_but_never_the_key()
    {
        var authorized = _host.Client;
        using var anonymous = _host.CreateClient();
        anonymous.DefaultRequestHeaders.Add("X-Api-Key", "wrong-key-0123456789abcdef0123456789abcdef");

        (await authorized.GetAsync("/debug/memory")).Dispose();
        (await anonymous.GetAsync("/debug/memory")).Dispose();

        var lines = _host.Logs.Entries.Select(entry => entry.Message).ToList();
        Assert.Contains(lines, line => line.Contains("GET /debug/memory by api-key:") && line.EndsWith(": 200"));
        Assert.Contains(lines, line => line.Contains("Denied GET /debug/memory") && line.Contains("401"));
        Assert.DoesNotContain(lines, line => line.Contains(TestHost.ApiKey) || line.Contains("wrong-key-0123456789"));
    }

    [Fact]
    public async Task Without_any_key_every_call_is_denied_and_startup_warns_how_to_enable_access()
    {
        await using var noKeys = await TestHost.StartAsync(new Dictionary<string, string?> { ["HeapDiagnostics:ApiKeys:0"] = null });
        using var client = noKeys.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", TestHost.ApiKey);

        using var response = await client.GetAsync("/debug/memory");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var warnings = noKeys.Logs.Entries.Where(entry => entry.Message.Contains("no API key is configured")).ToList();
        Assert.Single(warnings);
        Assert.Contains("HeapDiagnostics__ApiKeys__0", warnings[0].Message);
    }
}
