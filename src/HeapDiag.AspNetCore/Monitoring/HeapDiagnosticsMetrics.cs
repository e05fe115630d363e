using System.Diagnostics.Metrics;
using HeapDiag.AspNetCore.Diagnostics;

namespace HeapDiag.AspNetCore.Monitoring;

/// <summary>
/// HeapDiag's instruments on the meter <c>HeapDiag</c>, visible to OpenTelemetry and <c>dotnet-counters</c>
/// without another package. Memory gauges report the monitor's last sample, so observing them costs nothing.
/// </summary>
internal sealed class HeapDiagnosticsMetrics
{
    public const string MeterName = "HeapDiag";

    private readonly Counter<long> dumps;
    private readonly Counter<long> failures;
    private readonly Histogram<double> duration;

    public HeapDiagnosticsMetrics(IMeterFactory meterFactory, MemoryTrend trend)
    {
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableGauge("heapdiag.memory.working_set", () => Observe(trend, sample => sample.WorkingSetBytes), "By", "Working set at the monitor's last sample");
        meter.CreateObservableGauge("heapdiag.memory.gc_heap_size", () => Observe(trend, sample => sample.GcHeapSizeBytes), "By", "GC heap size at the monitor's last sample");
        meter.CreateObservableGauge("heapdiag.memory.gc_committed", () => Observe(trend, sample => sample.GcCommittedBytes), "By", "GC committed bytes at the monitor's last sample");
        dumps = meter.CreateCounter<long>("heapdiag.dumps", "{dump}", "Heap dumps written, by trigger");
        failures = meter.CreateCounter<long>("heapdiag.dump.failures", "{failure}", "Heap dump captures that failed, by trigger and reason");
        duration = meter.CreateHistogram<double>("heapdiag.dump.duration", "s", "Time to write a heap dump");
    }

    public void DumpWritten(string trigger, TimeSpan elapsed)
    {
        dumps.Add(1, new KeyValuePair<string, object?>("trigger", trigger));
        duration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("trigger", trigger));
    }

    public void DumpFailed(string trigger, string reason) =>
        failures.Add(1, new KeyValuePair<string, object?>("trigger", trigger), new KeyValuePair<string, object?>("reason", reason));

    private static IEnumerable<Measurement<long>> Observe(MemoryTrend trend, Func<MemorySample, long> value) =>
        trend.LastSample is { } sample ? [new Measurement<long>(value(sample))] : [];
}
