using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using HeapDiag.AspNetCore.Tests.Infrastructure;

namespace HeapDiag.AspNetCore.Tests;

/// <summary>The endpoints are mapped exactly once, whether by AddHeapDiagnostics() alone or by the app.</summary>
public sealed class MappingTests
{
    [Fact]
    public async Task An_app_can_map_the_endpoints_inside_its_own_group_and_they_are_not_mapped_again()
    {
        await using var app = CreateApp();
        app.MapGroup("/ops").MapHeapDiagnostics();
        await app.StartAsync();
        using var client = app.GetTestClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", SampleApiFactory.ApiKey);

        using var inGroup = await client.GetAsync("/ops/debug/memory");
        using var atDefault = await client.GetAsync("/debug/memory");

        Assert.Equal(HttpStatusCode.OK, inGroup.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, atDefault.StatusCode);
        var routes = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Count(endpoint => endpoint.RoutePattern.RawText?.EndsWith("/memory", StringComparison.Ordinal) == true);
        Assert.Equal(1, routes);
    }

    [Fact]
    public async Task Mapping_twice_is_refused_with_a_clear_error()
    {
        await using var app = CreateApp();
        app.MapHeapDiagnostics();

        var error = Assert.Throws<InvalidOperationException>(() => app.MapHeapDiagnostics());

        Assert.Contains("already mapped", error.Message);
    }

    [Fact]
    public async Task Mapping_without_AddHeapDiagnostics_names_the_missing_call()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        await using var app = builder.Build();

        var error = Assert.Throws<InvalidOperationException>(() => app.MapHeapDiagnostics());

        Assert.Contains("AddHeapDiagnostics", error.Message);
    }

    [Fact]
    public async Task A_custom_route_prefix_moves_the_automatic_endpoints()
    {
        await using var app = CreateApp(options => options.RoutePrefix = "/_ops/heap");
        await app.StartAsync();
        using var client = app.GetTestClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", SampleApiFactory.ApiKey);

        using var moved = await client.GetAsync("/_ops/heap/memory");
        using var old = await client.GetAsync("/debug/memory");

        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, old.StatusCode);
    }

    private static WebApplication CreateApp(Action<HeapDiagnosticsOptions>? configure = null)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddHeapDiagnostics(options =>
        {
            options.ApiKeys.Add(SampleApiFactory.ApiKey);
            options.Storage.Directory = Path.Combine(Path.GetTempPath(), "heapdiag-mapping-tests");
            configure?.Invoke(options);
        });
        return builder.Build();
    }
}
