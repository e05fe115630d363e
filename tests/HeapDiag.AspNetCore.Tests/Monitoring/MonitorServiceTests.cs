using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using HeapDiag.AspNetCore.Capture;
using HeapDiag.AspNetCore.Diagnostics;
using HeapDiag.AspNetCore.Monitoring;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Tests.Monitoring;

public sealed class MonitorServiceTests
{
    [Fact]
    public async Task Shutdown_does_not_wait_for_a_capture_that_never_ends()
    {
        var options = new HeapDiagnosticsOptions();
        options.Monitor.ThresholdBytes = 1;
        var capture = new BlockingCapture();
        var time = TimeProvider.System;
        var monitor = new MemoryMonitor(new ScriptedSampler(time) { Value = 10 }, new MemoryTrend(), capture, new FakeReporter(), time, Options.Create(options), NullLogger<MemoryMonitor>.Instance);
        using var service = new MemoryMonitorService(monitor, time, Options.Create(options));

        await service.StartAsync(CancellationToken.None);
        await capture.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        using var shutdownTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        var stop = service.StopAsync(shutdownTimeout.Token);

        await stop.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(stop.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task The_health_check_is_degraded_above_the_configured_fraction_of_the_threshold()
    {
        var options = new HeapDiagnosticsOptions();
        options.Monitor.ThresholdBytes = 1000;
        options.Monitor.HealthDegradedFraction = 0.9;
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
    public async Task SampleApi_serves_health_and_the_monitor_state()
    {
        using var factory = new SampleApiFactory(new Dictionary<string, string?>
        {
            ["HeapDiagnostics:Monitor:Enabled"] = "true",
            ["HeapDiagnostics:Monitor:Interval"] = "00:00:00.2",
            ["HeapDiagnostics:Monitor:ThresholdPercentOfLimit"] = "90",

            // Far above this test process, so the monitor never dumps it (a dump here would collide with the
            // tests that dump this process on purpose).
            ["HeapDiagnostics:Monitor:ThresholdBytes"] = (100L << 30).ToString(),
        });
        using var client = factory.CreateAuthorizedClient();

        using var health = await client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("Healthy", await health.Content.ReadAsStringAsync());

        JsonElement status = default;
        for (var i = 0; i < 100; i++)
        {
            status = JsonDocument.Parse(await client.GetStringAsync("/debug/monitor?window=true")).RootElement;
            if (status.GetProperty("growth").GetProperty("samples").GetInt32() >= 3)
            {
                break;
            }

            await Task.Delay(100);
        }

        Assert.True(status.GetProperty("enabled").GetBoolean());
        Assert.Equal("WorkingSet", status.GetProperty("metric").GetString());
        Assert.Equal(0.2, status.GetProperty("intervalSeconds").GetDouble());
        Assert.Equal(100L << 30, status.GetProperty("threshold").GetProperty("thresholdBytesSetting").GetInt64());
        Assert.Equal("percentOfLimit", status.GetProperty("threshold").GetProperty("source").GetString());
        Assert.Equal(90, status.GetProperty("threshold").GetProperty("percentOfLimit").GetDouble());
        Assert.True(status.GetProperty("lastSample").GetProperty("workingSetBytes").GetInt64() > 0);
        Assert.True(status.GetProperty("window").GetArrayLength() >= 3);
        Assert.Empty(status.GetProperty("autoDumps").EnumerateArray());
        Assert.Equal(3, status.GetProperty("autoDumpsRemaining").GetInt32());

        using var memory = JsonDocument.Parse(await client.GetStringAsync("/debug/memory"));
        Assert.Equal("samples", memory.RootElement.GetProperty("memoryGrowthRate").GetProperty("source").GetString());
    }

    [Fact]
    public async Task Capture_failures_are_counted_on_the_HeapDiag_meter()
    {
        var failures = new List<(long Value, string? Reason)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == HeapDiagnosticsMetrics.MeterName && instrument.Name == "heapdiag.dump.failures")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            lock (failures)
            {
                failures.Add((value, tags.ToArray().FirstOrDefault(t => t.Key == "reason").Value as string));
            }
        });
        listener.Start();

        using var factory = new SampleApiFactory(new Dictionary<string, string?> { ["HeapDiagnostics:Storage:ReserveBytes"] = (1L << 60).ToString() });
        using var client = factory.CreateAuthorizedClient();
        using var response = await client.PostAsync("/debug/heapdump", null);

        Assert.Equal(HttpStatusCode.InsufficientStorage, response.StatusCode);
        lock (failures)
        {
            Assert.Contains(failures, f => f.Value == 1 && f.Reason == nameof(HeapDumpFailure.InsufficientStorage));
        }
    }

    private sealed class BlockingCapture : IHeapDumpCapture
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<HeapDumpResult> CaptureAsync(HeapDumpRequest request, CancellationToken cancellationToken)
        {
            Entered.TrySetResult();
            return new TaskCompletionSource<HeapDumpResult>().Task;
        }
    }
}
