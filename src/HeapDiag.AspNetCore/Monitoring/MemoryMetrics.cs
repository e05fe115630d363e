using System.Diagnostics.Metrics;
using HeapDiag.AspNetCore.Capture;
using HeapDiag.AspNetCore.Diagnostics;

namespace HeapDiag.AspNetCore.Monitoring;

/// <summary>
/// The monitor's memory gauges on the meter <c>HeapDiag</c>. They report the monitor's last sample, so observing
/// them costs nothing. Published when the monitor starts sampling; the meter factory keeps the meter.
/// </summary>
internal sealed class MemoryMetrics(IMeterFactory meterFactory, MemoryTrend trend)
{
    public void Publish()
    {
        var meter = meterFactory.Create(CaptureMetrics.MeterName);
        meter.CreateObservableGauge("heapdiag.memory.working_set", () => Observe(trend, sample => sample.WorkingSetBytes), "By", "Working set at the monitor's last sample");
        meter.CreateObservableGauge("heapdiag.memory.gc_heap_size", () => Observe(trend, sample => sample.GcHeapSizeBytes), "By", "GC heap size at the monitor's last sample");
        meter.CreateObservableGauge("heapdiag.memory.gc_committed", () => Observe(trend, sample => sample.GcCommittedBytes), "By", "GC committed bytes at the monitor's last sample");
    }

    private static IEnumerable<Measurement<long>> Observe(MemoryTrend trend, Func<MemorySample, long> value) =>
        trend.LastSample is { } sample ? [new Measurement<long>(value(sample))] : [];
}
