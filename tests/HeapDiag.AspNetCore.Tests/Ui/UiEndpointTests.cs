using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace HeapDiag.AspNetCore.Tests.Ui;

/// <summary>The page's routes over real HTTP on a minimal host: who may load what, with which headers, how heavy.</summary>
public sealed partial class UiEndpointTests(ITestOutputHelper output)
{
    private const int PageBudgetBytes = 200 * 1024;

    [Fact]
    public async Task The_shell_and_its_files_load_without_credentials_and_only_they_do()
    {
        await using var host = await TestHost.StartAsync();
        using var anonymous = host.CreateClient();

        using var shell = await anonymous.GetAsync("/debug/ui");
        using var script = await anonymous.GetAsync("/debug/ui/app.js");
        Assert.Equal(HttpStatusCode.OK, shell.StatusCode);
        Assert.Equal("text/html", shell.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        foreach (var data in new[] { "/debug/memory", "/debug/monitor?window=true", "/debug/heapdump", "/debug/heapdump/capabilities" })
        {
            using var denied = await anonymous.GetAsync(data);
            Assert.True(denied.StatusCode == HttpStatusCode.Unauthorized, $"{data} -> {(int)denied.StatusCode}");
        }

        // From the route table itself: anonymous routes are the page's, every other one requires the policy.
        var endpoints = HeapDiagEndpoints(host);
        var (open, guarded) = (endpoints.Where(IsAnonymous).ToList(), endpoints.Where(e => !IsAnonymous(e)).ToList());
        Assert.All(open, endpoint => Assert.StartsWith("/debug/ui/", endpoint.RoutePattern.RawText));
        Assert.Contains(open, endpoint => endpoint.RoutePattern.RawText == "/debug/ui/");
        Assert.All(guarded, endpoint => Assert.Contains(endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>(), data => data.Policy == "HeapDiagnostics"));
        Assert.True(guarded.Count >= 10, $"only {guarded.Count} guarded routes");
    }

    [Fact]
    public async Task The_page_loads_even_where_the_app_requires_sign_in_for_everything_else()
    {
        await using var host = await TestHost.StartAsync(services: services => services.AddAuthorization(options =>
            options.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build()));
        using var anonymous = host.CreateClient();

        using var shell = await anonymous.GetAsync("/debug/ui/");
        using var memory = await anonymous.GetAsync("/debug/memory");

        Assert.Equal(HttpStatusCode.OK, shell.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, memory.StatusCode);
    }

    [Fact]
    public async Task The_page_has_a_strict_content_security_policy_and_no_inline_script_or_style()
    {
        await using var host = await TestHost.StartAsync();
        using var client = host.CreateClient();

        foreach (var path in new[] { "/debug/ui", "/debug/ui/app.js", "/debug/ui/app.css" })
        {
            using var response = await client.GetAsync(path);
            var policy = Directives(string.Join(' ', response.Headers.GetValues("Content-Security-Policy")));
            Assert.Equal("'none'", policy["default-src"]);
            Assert.Equal("'self'", policy["script-src"]);
            Assert.Equal("'self'", policy["style-src"]);
            Assert.Equal("'self'", policy["connect-src"]);
            Assert.Equal("'none'", policy["frame-ancestors"]);
            Assert.Equal("'none'", policy["form-action"]);
            Assert.Equal("'script'", policy["require-trusted-types-for"]);
            Assert.DoesNotContain(policy.Values, value => value.Contains("unsafe", StringComparison.Ordinal));
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        }

        var html = await client.GetStringAsync("/debug/ui");
        Assert.DoesNotMatch(InlineScript(), html);
        Assert.DoesNotContain("<style", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("style=", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotMatch(@"<[^>]*\son[a-z]+\s*=", html);
    }

    [Fact]
    public async Task Every_data_answer_is_no_store_success_or_problem()
    {
        await using var host = await TestHost.StartAsync(services: TestWriters.Use<FakeHeapDumpWriter>);
        var client = host.Client;
        var id = await host.CaptureAsync();

        foreach (var (path, status) in new[]
        {
            ("/debug/memory", HttpStatusCode.OK),
            ("/debug/monitor?window=true", HttpStatusCode.OK),
            ("/debug/heapdump", HttpStatusCode.OK),
            ("/debug/heapdump/capabilities", HttpStatusCode.OK),
            ($"/debug/heapdump/{id}", HttpStatusCode.OK),
            ($"/debug/heapdump/{id}/diagnostics", HttpStatusCode.OK),
            ("/debug/heapdump/20261124T011500123Z-2477-manual-0-heap/diagnostics", HttpStatusCode.NotFound),
            ("/debug/heapdump/not-an-id/summary", HttpStatusCode.BadRequest),
            ("/debug/monitor?window=maybe", HttpStatusCode.BadRequest),
        })
        {
            using var response = await client.GetAsync(path);
            Assert.True(response.StatusCode == status, $"{path} -> {(int)response.StatusCode}");
            Assert.True(response.Headers.CacheControl?.NoStore == true, $"{path}: Cache-Control is '{response.Headers.CacheControl}'");
        }

        using var capture = await client.PostAsync("/debug/heapdump", null);
        Assert.True(capture.Headers.CacheControl?.NoStore, "POST /debug/heapdump");
        using var delete = await client.DeleteAsync($"/debug/heapdump/{id}");
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.True(delete.Headers.CacheControl?.NoStore);
    }

    [Fact]
    public async Task The_page_answers_at_ui_and_at_ui_slash_with_links_that_resolve_from_both()
    {
        await using var host = await TestHost.StartAsync();
        using var client = host.CreateClient();

        var withoutSlash = await client.GetStringAsync("/debug/ui");
        var withSlash = await client.GetStringAsync("/debug/ui/");

        // Relative links under <base>: /debug/ui + "ui/app.js" and /debug/ui/ + "./app.js" are both /debug/ui/app.js.
        Assert.Contains("<base href=\"ui/\">", withoutSlash, StringComparison.Ordinal);
        Assert.Contains("<base href=\"./\">", withSlash, StringComparison.Ordinal);
        Assert.Equal(new Uri("http://h/debug/ui/app.js"), new Uri(new Uri(new Uri("http://h/debug/ui"), "ui/"), "app.js"));
        Assert.Equal(new Uri("http://h/debug/ui/app.js"), new Uri(new Uri(new Uri("http://h/debug/ui/"), "./"), "app.js"));

        // Revalidated on every load; an unchanged file is a 304.
        using var first = await client.GetAsync("/debug/ui/app.js");
        Assert.Equal("no-cache", first.Headers.CacheControl?.ToString());
        using var again = new HttpRequestMessage(HttpMethod.Get, "/debug/ui/app.js");
        again.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        using var notModified = await client.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
    }

    [Fact]
    public async Task With_Ui_Enabled_false_the_page_is_404_and_the_data_routes_are_unchanged()
    {
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?> { ["HeapDiagnostics:Ui:Enabled"] = "false" });
        var client = host.Client;

        foreach (var path in new[] { "/debug/ui", "/debug/ui/", "/debug/ui/app.js" })
        {
            using var response = await client.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{path} -> {(int)response.StatusCode}");
        }

        using var memory = await client.GetAsync("/debug/memory");
        Assert.Equal(HttpStatusCode.OK, memory.StatusCode);
        Assert.DoesNotContain(HeapDiagEndpoints(host), endpoint => endpoint.RoutePattern.RawText!.StartsWith("/debug/ui", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Mapped_inside_an_app_group_the_page_moves_with_the_endpoints()
    {
        await using var host = await TestHost.StartAsync(map: app => app.MapGroup("/ops").MapHeapDiagnostics());
        using var client = host.CreateClient();

        using var shell = await client.GetAsync("/ops/debug/ui");
        using var script = await client.GetAsync("/ops/debug/ui/api.js");
        using var old = await client.GetAsync("/debug/ui");

        Assert.Equal(HttpStatusCode.OK, shell.StatusCode);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, old.StatusCode);
    }

    [Fact]
    public async Task Every_file_of_the_page_is_served_holds_no_data_and_all_together_weigh_at_most_200_KB()
    {
        await using var host = await TestHost.StartAsync(services: TestWriters.Use<FakeHeapDumpWriter>);
        var id = await host.CaptureAsync();
        using var anonymous = host.CreateClient();

        var files = new Dictionary<string, string>();
        foreach (var pattern in HeapDiagEndpoints(host).Where(IsAnonymous).Select(endpoint => endpoint.RoutePattern.RawText!))
        {
            using var response = await anonymous.GetAsync(pattern);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            files[pattern] = Encoding.UTF8.GetString(await response.Content.ReadAsByteArrayAsync());
        }

        var total = files.Values.Sum(text => Encoding.UTF8.GetByteCount(text));
        output.WriteLine($"{files.Count} files, {total:N0} bytes: {string.Join(", ", files.Select(file => $"{(file.Key == "/debug/ui/" ? "index.html" : file.Key["/debug/ui/".Length..])} {Encoding.UTF8.GetByteCount(file.Value):N0}"))}");
        Assert.True(total <= PageBudgetBytes, $"The page weighs {total:N0} bytes, over the {PageBudgetBytes:N0}-byte budget.");

        // Nothing the shell or a script refers to is missing, and no file holds anything of this process.
        foreach (var (path, text) in files)
        {
            foreach (var reference in References().Matches(text).Select(match => match.Groups["file"].Value))
            {
                Assert.True(files.ContainsKey($"/debug/ui/{reference.TrimStart('.', '/')}"), $"{path} refers to {reference}, which is not served");
            }

            Assert.DoesNotContain(id, text, StringComparison.Ordinal);
            Assert.DoesNotContain(host.DumpDirectory, text, StringComparison.Ordinal);
        }
    }

    private static List<RouteEndpoint> HeapDiagEndpoints(TestHost host) =>
        host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(endpoint => endpoint.RoutePattern.RawText?.StartsWith("/debug", StringComparison.Ordinal) == true)
            .ToList();

    private static bool IsAnonymous(RouteEndpoint endpoint) => endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null;

    private static Dictionary<string, string> Directives(string policy) =>
        policy.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(directive => directive.Split(' ', 2))
            .ToDictionary(parts => parts[0], parts => parts.Length > 1 ? parts[1] : string.Empty);

    /// <summary>A script element with content or without a src: inline script.</summary>
    [GeneratedRegex(@"<script(?![^>]*\bsrc=)[^>]*>|<script[^>]*>[^<\s]", RegexOptions.IgnoreCase)]
    private static partial Regex InlineScript();

    /// <summary>Files the page loads: src/href in the shell, imports in the scripts.</summary>
    [GeneratedRegex(@"(?:src|href)=""(?<file>[a-z0-9.-]+\.(?:js|css|svg))""|from '(?<file>\./[a-z0-9.-]+\.js)'")]
    private static partial Regex References();
}
