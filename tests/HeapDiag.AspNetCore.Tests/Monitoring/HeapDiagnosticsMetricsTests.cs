using System.Diagnostics.Metrics;
using System.Net;
using HeapDiag.AspNetCore.Tests.Infrastructure;

namespace HeapDiag.AspNetCore.Tests.Monitoring;

/// <summary>What HeapDiag counts on its meter for an app's metrics pipeline (OpenTelemetry, dotnet-counters).</summary>
public sealed class HeapDiagnosticsMetricsTests
{
    /// <summary>The meter's name, which users subscribe to (<c>dotnet-counters monitor --counters HeapDiag</c>).</summary>
    private const string MeterName = "HeapDiag";

    [Fact]
    public async Task Capture_failures_are_counted_on_the_HeapDiag_meter()
    {
        var failures = new List<(long Value, string? Reason)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == MeterName && instrument.Name == "heapdiag.dump.failures")
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

        await using var host = await TestHost.StartAsync(new Dictionary<string, string?> { ["HeapDiagnostics:Storage:ReserveBytes"] = (1L << 60).ToString() });
        using var response = await host.Client.PostAsync("/debug/heapdump", null);

        Assert.Equal(HttpStatusCode.InsufficientStorage, response.StatusCode);
        lock (failures)
        {
            Assert.Contains(failures, f => f.Value == 1 && f.Reason == "InsufficientStorage");
        }
    }
}
