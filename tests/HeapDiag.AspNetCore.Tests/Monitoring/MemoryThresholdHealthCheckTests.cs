using System.Net;
using HeapDiag.AspNetCore.Monitoring;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Tests.Monitoring;

/// <summary>The health check an app adds with <c>AddHealthChecks().AddHeapDiagnostics()</c>: degraded near the dump threshold.</summary>
public sealed class MemoryThresholdHealthCheckTests
{
    [Fact]
    public async Task The_health_check_is_degraded_above_the_configured_fraction_of_the_threshold()
    {
        var options = new MemoryMonitorOptions { ThresholdBytes = 1000, HealthDegradedFraction = 0.9 };
        var sampler = new ScriptedSampler(TimeProvider.System);
        var check = new MemoryThresholdHealthCheck(sampler, Options.Create(options));

        sampler.Value = 899;
        var healthy = await check.CheckHealthAsync(new HealthCheckContext());
        sampler.Value = 900;
        var degraded = await check.CheckHealthAsync(new HealthCheckContext());

        Assert.Equal(HealthStatus.Healthy, healthy.Status);
        Assert.Equal(HealthStatus.Degraded, degraded.Status);
        Assert.Equal(1000L, degraded.Data["thresholdBytes"]);
    }

    [Fact]
    public async Task An_app_that_adds_the_check_serves_it_with_its_own_health_endpoint()
    {
        await using var host = await TestHost.StartAsync(
            services: services => services.AddHealthChecks().AddHeapDiagnostics(),
            map: app => app.MapHealthChecks("/health"));
        using var anonymous = host.CreateClient();

        using var health = await anonymous.GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("Healthy", await health.Content.ReadAsStringAsync());
    }
}
