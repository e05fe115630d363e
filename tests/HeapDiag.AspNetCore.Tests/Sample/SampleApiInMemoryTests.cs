using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Serilog.Events;
using Serilog.Formatting.Display;

namespace HeapDiag.AspNetCore.Tests.Sample;

/// <summary>
/// SampleApi end to end in memory through its real <c>Program</c> (<see cref="SampleApiFactory"/>): what a developer
/// sees in Swagger, the key in front of HeapDiag's endpoints, the demo leak routes, and Serilog's request log.
/// Captures are in <see cref="SampleApiCaptureTests"/>; what needs a process of its own stays in <see cref="SampleApiProcess"/> tests.
/// </summary>
public sealed partial class SampleApiInMemoryTests
{
    [Fact]
    public async Task The_Swagger_document_lists_HeapDiag_behind_the_key_and_the_sample_routes_open()
    {
        await using var factory = new SampleApiFactory();
        using var client = factory.CreateClient();

        var document = await client.GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");

        var paths = document.GetProperty("paths");
        foreach (var path in new[] { "/debug/memory", "/debug/heapdump", "/debug/heapdump/{id}", "/debug/heapdump/{id}/suspects", "/debug/monitor", "/leak/{pattern}", "/leak", "/hello" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"{path} is missing from the Swagger document");
        }

        Assert.Equal("header", document.GetProperty("components").GetProperty("securitySchemes").GetProperty("ApiKey").GetProperty("in").GetString());
        Assert.True(paths.GetProperty("/debug/memory").GetProperty("get").TryGetProperty("security", out _), "GET /debug/memory does not ask for the key");
        Assert.False(paths.GetProperty("/hello").GetProperty("get").TryGetProperty("security", out _), "GET /hello asks for a key it does not need");
        Assert.Equal("HeapDiagnostics", paths.GetProperty("/debug/memory").GetProperty("get").GetProperty("tags")[0].GetString());
    }

    [Fact]
    public async Task HeapDiag_answers_only_with_the_key_while_the_apps_own_routes_stay_open()
    {
        await using var factory = new SampleApiFactory();
        using var anonymous = factory.CreateClient();
        using var authorized = factory.CreateAuthorizedClient();
        using var wrongKey = factory.CreateClient();
        wrongKey.DefaultRequestHeaders.Add("X-Api-Key", "not-the-key-0123456789abcdef0123456789");

        using (var response = await anonymous.GetAsync("/debug/memory"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        using (var response = await wrongKey.GetAsync("/debug/heapdump"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        var memory = await authorized.GetFromJsonAsync<JsonElement>("/debug/memory");
        Assert.True(memory.GetProperty("memoryUsage").GetProperty("workingSetBytes").GetInt64() > 0);
        var dumps = await authorized.GetFromJsonAsync<JsonElement>("/debug/heapdump");
        Assert.Empty(dumps.GetProperty("dumps").EnumerateArray());
        var monitor = await authorized.GetFromJsonAsync<JsonElement>("/debug/monitor");
        Assert.False(monitor.GetProperty("enabled").GetBoolean());

        var hello = await anonymous.GetFromJsonAsync<JsonElement>("/hello");
        Assert.Equal("Hello from SampleApi", hello.GetProperty("message").GetString());
        Assert.Equal("Healthy", await anonymous.GetStringAsync("/health"));
    }

    [Fact]
    public async Task The_leak_routes_leak_what_they_are_asked_release_it_and_refuse_what_they_do_not_know()
    {
        await using var factory = new SampleApiFactory();
        using var client = factory.CreateClient();

        using (var leak = await client.PostAsync("/leak/cache?mb=2", null))
        {
            Assert.Equal(HttpStatusCode.OK, leak.StatusCode);
            Assert.True((await leak.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("allocatedBytes").GetInt64() >= 2 * 1000 * 1000);
        }

        foreach (var (route, named) in new[] { ("/leak/nothing?mb=2", "'nothing' is not a leak pattern"), ("/leak/events?mb=0", "use a whole number from 1 to 4096") })
        {
            using var refused = await client.PostAsync(route, null);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            Assert.Contains(named, (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        }

        using var release = await client.DeleteAsync("/leak");
        Assert.Equal(HttpStatusCode.OK, release.StatusCode);
    }

    [Fact]
    public async Task Each_request_is_logged_once_by_Serilog_AspNetCore_with_its_properties()
    {
        await using var factory = new SampleApiFactory();
        using var client = factory.CreateClient();

        using (var response = await client.GetAsync("/hello"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var line = await factory.Events.WaitForAsync(e => Property(e, "RequestPath") == "/hello", "the request log line of GET /hello");
        Assert.Equal("Serilog.AspNetCore.RequestLoggingMiddleware", Property(line, "SourceContext"));
        Assert.Equal(LogEventLevel.Information, line.Level);
        Assert.Matches(RequestLine(), AsConsoleWritesIt(line));
        Assert.Equal("GET", Property(line, "RequestMethod"));
        Assert.Equal("200", Property(line, "StatusCode"));
        Assert.IsType<double>(Assert.IsType<ScalarValue>(line.Properties["Elapsed"]).Value);
    }

    [Fact]
    public async Task Settings_given_to_the_factory_reach_HeapDiag_and_Serilog()
    {
        await using var factory = new SampleApiFactory(new Dictionary<string, string?>
        {
            ["HeapDiagnostics:RoutePrefix"] = "/ops",
            ["HeapDiagnostics:Ui:Enabled"] = "false",
            ["Serilog:Properties:Application"] = "configured-by-the-factory",
        });
        using var client = factory.CreateAuthorizedClient();

        using (var moved = await client.GetAsync("/ops/memory"))
        {
            Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        }

        foreach (var gone in new[] { "/debug/memory", "/ops/ui" })
        {
            using var response = await client.GetAsync(gone);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        var line = await factory.Events.WaitForAsync(e => Property(e, "RequestPath") == "/ops/memory", "the request log line of GET /ops/memory");
        Assert.Equal("configured-by-the-factory", Property(line, "Application"));
    }

    /// <summary>A scalar property as text (strings without Serilog's quotes).</summary>
    internal static string? Property(LogEvent logEvent, string name) =>
        logEvent.Properties.TryGetValue(name, out var value) ? (value is ScalarValue { Value: var scalar } ? Convert.ToString(scalar, System.Globalization.CultureInfo.InvariantCulture) : value.ToString()) : null;

    /// <summary>The message as the sample's console sink writes it (<c>{Message:lj}</c>: strings without quotes).</summary>
    private static string AsConsoleWritesIt(LogEvent logEvent)
    {
        using var text = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        new MessageTemplateTextFormatter("{Message:lj}").Format(logEvent, text);
        return text.ToString();
    }

    [GeneratedRegex(@"^HTTP GET /hello responded 200 in \d+\.\d+ ms$")]
    private static partial Regex RequestLine();
}
