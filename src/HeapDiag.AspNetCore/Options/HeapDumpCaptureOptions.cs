using System.ComponentModel.DataAnnotations;
using HeapDiag.AspNetCore.Capture;

namespace HeapDiag.AspNetCore;

/// <summary>Settings under <c>HeapDiagnostics:Capture</c>.</summary>
public sealed class HeapDumpCaptureOptions
{
    /// <summary>Minimum time between two manual captures. Default one minute.</summary>
    [SettingRange(typeof(TimeSpan), "00:00:00", "365.00:00:00", ErrorMessage = "HeapDiagnostics:Capture:MinInterval must be zero or more, for example '00:01:00'.")]
    public TimeSpan MinInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Dump type used when a request names none: <c>heap</c>, <c>full</c>, <c>mini</c> or <c>triage</c>. Default <c>heap</c>.</summary>
    [AllowedValues(HeapDumpTypes.Heap, HeapDumpTypes.Full, HeapDumpTypes.Mini, HeapDumpTypes.Triage,
        ErrorMessage = "HeapDiagnostics:Capture:DefaultType must be one of heap, full, mini, triage; heap (the GC heap) serves every analysis.")]
    public string DefaultType { get; set; } = HeapDumpTypes.Heap;
}
