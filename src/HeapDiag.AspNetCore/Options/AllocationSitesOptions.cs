namespace HeapDiag.AspNetCore;

/// <summary>
/// Settings under <c>HeapDiagnostics:Analysis:AllocationSites</c>: after an automatic leak report, the analyzer samples
/// the allocations of what the top suspects hold, while the leak is still growing, and names the code that adds it.
/// </summary>
public sealed class AllocationSitesOptions
{
    /// <summary>The longest window <c>POST {prefix}/allocations</c> and this setting accept.</summary>
    internal const int MaxSeconds = 300;

    /// <summary>How long to sample after an automatic report. Default 30 seconds; <c>00:00:00</c> turns it off.</summary>
    [SettingRange(typeof(TimeSpan), "00:00:00", "00:05:00", ErrorMessage = "HeapDiagnostics:Analysis:AllocationSites:Duration must be from 00:00:00 (off) to 00:05:00, for example '00:00:30'.")]
    public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(30);
}
