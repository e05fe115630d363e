using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace HeapDiag.AspNetCore.Tests;

/// <summary><c>AddHeapDiagnostics()</c> in its three forms: the <c>HeapDiagnostics</c> section, code after it, another section.</summary>
public sealed class RegistrationTests
{
    [Fact]
    public async Task An_options_action_is_applied_after_the_configuration()
    {
        await using var host = await TestHost.StartAsync(
            new Dictionary<string, string?> { ["HeapDiagnostics:RoutePrefix"] = "/from-configuration" },
            addHeapDiagnostics: app => app.Services.AddHeapDiagnostics(options => options.RoutePrefix = "/from-code"));

        using var fromCode = await host.Client.GetAsync("/from-code/memory");
        using var fromConfiguration = await host.Client.GetAsync("/from-configuration/memory");

        Assert.Equal(HttpStatusCode.OK, fromCode.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, fromConfiguration.StatusCode);
    }

    [Fact]
    public async Task Another_configuration_section_is_bound_instead_of_HeapDiagnostics()
    {
        var dumps = Directory.CreateTempSubdirectory("heapdiag-section-").FullName;
        try
        {
            await using var host = await TestHost.StartAsync(
                new Dictionary<string, string?>
                {
                    ["Ops:Heap:RoutePrefix"] = "/ops/heap",
                    ["Ops:Heap:ApiKeys:0"] = TestHost.ApiKey,
                    ["Ops:Heap:Storage:Directory"] = dumps,
                    ["Ops:Heap:Monitor:Enabled"] = "false",
                },
                addHeapDiagnostics: app => app.Services.AddHeapDiagnostics(app.Configuration.GetSection("Ops:Heap")));

            using var moved = await host.Client.GetAsync("/ops/heap/memory");
            using var atDefault = await host.Client.GetAsync("/debug/memory");
            var capabilities = await host.Client.GetFromJsonAsync<JsonElement>("/ops/heap/heapdump/capabilities");

            Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, atDefault.StatusCode);
            Assert.Equal(dumps, capabilities.GetProperty("directory").GetString());
        }
        finally
        {
            Directory.Delete(dumps, recursive: true);
        }
    }

    [Fact]
    public async Task A_second_call_adds_its_options_and_registers_nothing_twice()
    {
        await using var host = await TestHost.StartAsync(addHeapDiagnostics: app =>
        {
            app.Services.AddHeapDiagnostics();
            app.Services.AddHeapDiagnostics(options => options.RoutePrefix = "/ops");
        });

        using var memory = await host.Client.GetAsync("/ops/memory");

        Assert.Equal(HttpStatusCode.OK, memory.StatusCode);
        var heapDiagServices = host.Services.GetServices<IHostedService>().Select(service => service.GetType()).Where(type => type.Assembly == typeof(HeapDiagnosticsOptions).Assembly).ToList();
        Assert.NotEmpty(heapDiagServices);
        Assert.Equal(heapDiagServices.Distinct(), heapDiagServices);
    }
}
