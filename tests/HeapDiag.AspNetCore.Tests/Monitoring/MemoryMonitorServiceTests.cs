using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.Json;
using HeapDiag.AspNetCore.Capture;
using HeapDiag.AspNetCore.Diagnostics.MemoryMaps;
using HeapDiag.AspNetCore.Monitoring;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Tests.Monitoring;

/// <summary>The hosted monitor: it samples on its interval, serves its state, and never holds up the app's shutdown.</summary>
public sealed class MemoryMonitorServiceTests
{
    [Fact]
    public async Task Shutdown_does_not_wait_for_a_capture_that_never_ends()
    {
        var options = Options.Create(new MemoryMonitorOptions { ThresholdBytes = 1 });
        var capture = new BlockingCapture();
        var (time, trend) = (TimeProvider.System, new MemoryTrend());
        using var meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var monitor = new MemoryMonitor(new ScriptedSampler(time) { Value = 10 }, trend, new AutoDumpAction(capture, new FakeReporter()), time, options, NullLogger<MemoryMonitor>.Instance);
        using var service = new MemoryMonitorService(monitor, new MemoryMapSampling(new MemoryMapHistory(new MemoryMapReader(time), time)), new MemoryMetrics(meters.GetRequiredService<IMeterFactory>(), trend), time, options);

        await service.StartAsync(CancellationToken.None);
        await capture.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        using var shutdownTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        var stop = service.StopAsync(shutdownTimeout.Token);

        await stop.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(stop.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task The_monitor_samples_on_its_interval_and_serves_its_state()
    {
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?>
        {
            ["HeapDiagnostics:Monitor:Enabled"] = "true",
            ["HeapDiagnostics:Monitor:Interval"] = "00:00:00.2",
            ["HeapDiagnostics:Monitor:ThresholdPercentOfLimit"] = "90",

            // Far above this test process, so the monitor never dumps it (a dump here would collide with the
            // tests that dump this process on purpose).
            ["HeapDiagnostics:Monitor:ThresholdBytes"] = (100L << 30).ToString(CultureInfo.InvariantCulture),
        });

        var status = await Poll.UntilAsync(
            async () => JsonDocument.Parse(await host.Client.GetStringAsync("/debug/monitor?window=true")).RootElement,
            status => status.GetProperty("growth").GetProperty("samples").GetInt32() >= 3,
            "three samples in the monitor's window");

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

        using var memory = JsonDocument.Parse(await host.Client.GetStringAsync("/debug/memory"));
        Assert.Equal("samples", memory.RootElement.GetProperty("memoryGrowthRate").GetProperty("source").GetString());
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
