using System.Diagnostics.Metrics;

namespace HeapDiag.AspNetCore.Capture;

/// <summary>
/// The capture's instruments on the meter <c>HeapDiag</c> (shared with the monitor's memory gauges), visible to
/// OpenTelemetry and <c>dotnet-counters</c> without another package.
/// </summary>
internal sealed class CaptureMetrics
{
    /// <summary>The meter every HeapDiag instrument is on.</summary>
    public const string MeterName = "HeapDiag";

    private readonly Counter<long> _dumps;
    private readonly Counter<long> _failures;
    private readonly Histogram<double> _duration;

    public CaptureMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _dumps = meter.CreateCounter<long>("heapdiag.dumps", "{dump}", "Heap dumps written, by trigger");
        _failures = meter.CreateCounter<long>("heapdiag.dump.failures", "{failure}", "Heap dump captures that failed, by trigger and reason");
        _duration = meter.CreateHistogram<double>("heapdiag.dump.duration", "s", "Time to write a heap dump");
    }

    public void DumpWritten(string trigger, TimeSpan elapsed)
    {
        _dumps.Add(1, new KeyValuePair<string, object?>("trigger", trigger));
        _duration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("trigger", trigger));
    }

    public void DumpFailed(string trigger, string reason) =>
        _failures.Add(1, new KeyValuePair<string, object?>("trigger", trigger), new KeyValuePair<string, object?>("reason", reason));
}
