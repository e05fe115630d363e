using System.Net;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace HeapDiag.AspNetCore.Tests;

/// <summary>The endpoints are mapped exactly once, whether by AddHeapDiagnostics() alone or by the app.</summary>
public sealed class MappingTests
{
    [Fact]
    public async Task An_app_can_map_the_endpoints_inside_its_own_group_and_they_are_not_mapped_again()
    {
        await using var host = await TestHost.StartAsync(map: app => app.MapGroup("/ops").MapHeapDiagnostics());

        using var inGroup = await host.Client.GetAsync("/ops/debug/memory");
        using var atDefault = await host.Client.GetAsync("/debug/memory");

        Assert.Equal(HttpStatusCode.OK, inGroup.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, atDefault.StatusCode);
        var routes = host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Count(endpoint => endpoint.RoutePattern.RawText?.EndsWith("/memory", StringComparison.Ordinal) == true);
        Assert.Equal(1, routes);
    }

    [Fact]
    public async Task Mapping_twice_is_refused_with_a_clear_error()
    {
        InvalidOperationException? error = null;

        await using var host = await TestHost.StartAsync(map: app =>
        {
            app.MapHeapDiagnostics();
            error = Assert.Throws<InvalidOperationException>(() => app.MapHeapDiagnostics());
        });

        Assert.Contains("already mapped", error!.Message);
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
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?> { ["HeapDiagnostics:RoutePrefix"] = "/_ops/heap" });

        using var moved = await host.Client.GetAsync("/_ops/heap/memory");
        using var old = await host.Client.GetAsync("/debug/memory");

        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, old.StatusCode);
    }
}
