using System.ComponentModel.DataAnnotations;

namespace HeapDiag.AspNetCore;

/// <summary>Where heap analysis runs.</summary>
public enum AnalysisMode
{
    /// <summary>In a child process of the app (the analyzer), with its own heap and memory budget. Never on the app's heap.</summary>
    ChildProcess,

    /// <summary>No analysis here: the analysis routes answer 503 and automatic dumps get no leak report. Analyse the dumps elsewhere with <c>heapdiag</c>.</summary>
    Off,
}

/// <summary>
/// Settings under <c>HeapDiagnostics:Analysis</c>. The analysis never runs on the app's heap: a dump is taken when the
/// app is close to its memory limit, and an analysis inside the app would take exactly the memory the app is short of.
/// </summary>
public sealed class HeapAnalysisOptions
{
    /// <summary>The smallest budget accepted: the analyzer's runtime alone needs about this much.</summary>
    internal const long MinimumBudgetBytes = 64L << 20;

    /// <summary>Where analysis runs. Default <see cref="AnalysisMode.ChildProcess"/>.</summary>
    [EnumDataType(typeof(AnalysisMode), ErrorMessage = "HeapDiagnostics:Analysis:Mode must be ChildProcess or Off.")]
    public AnalysisMode Mode { get; set; } = AnalysisMode.ChildProcess;

    /// <summary>
    /// Memory budget of the analyzer process in bytes; it runs with this as its GC hard limit. Default (null): what is
    /// left below the container's memory limit (or the GC's limit) when the analysis starts, minus a safety margin,
    /// at most 1 GiB.
    /// </summary>
    [SettingRange(typeof(long), "67108864", "9223372036854775807", ErrorMessage = "HeapDiagnostics:Analysis:MaxMemoryBytes must be at least 67108864 (64 MiB), or left unset for what is left below the memory limit.")]
    public long? MaxMemoryBytes { get; set; }

    /// <summary>Longest an analysis may run before the analyzer is stopped. Default 10 minutes.</summary>
    [SettingRange(typeof(TimeSpan), "00:00:00.001", "7.00:00:00", ErrorMessage = "HeapDiagnostics:Analysis:Timeout must be positive (at most a week), for example '00:10:00'.")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>A leak suspect retains at least this percent of the live bytes. Default 10.</summary>
    [SettingRange(0d, 100d, MinimumIsExclusive = true, ErrorMessage = "HeapDiagnostics:Analysis:SuspectThresholdPercent must be more than 0 and at most 100, for example 10.")]
    public double SuspectThresholdPercent { get; set; } = 10;

    /// <summary>Allocation sampling after an automatic leak report: which code adds to the suspects.</summary>
    [Microsoft.Extensions.Options.ValidateObjectMembers]
    public AllocationSitesOptions AllocationSites { get; } = new();
}
