namespace HeapDiag.AspNetCore.Diagnostics;

/// <summary>
/// The automatic leak report: where the memory accumulates (the leak suspects, matched by fingerprint with the
/// previous automatic dump's) beside the "how much" of the diagnostics.
/// </summary>
/// <param name="DumpId">The automatic dump.</param>
/// <param name="ComparedWithDumpId">The previous automatic dump it was compared with; null for the first.</param>
/// <param name="Headline">One sentence: the suspect that grew most (the largest on the first dump), its path and fingerprint.</param>
/// <param name="Suspects">The leak suspects, with their growth when compared; at most three.</param>
/// <param name="TopTypes">The five types with the most live bytes.</param>
/// <param name="Error">Why there is no analysis (budget too small, analysis off, …) and what to do; null when there is one.</param>
internal sealed record AutoDumpLeakReport(
    string DumpId,
    string? ComparedWithDumpId,
    string Headline,
    IReadOnlyList<HeapDiag.Analysis.LeakSuspect> Suspects,
    IReadOnlyList<LeakReportType> TopTypes,
    string? Error)
{
    /// <summary>Where the growth since start is when it is mostly not objects on the GC heap (then the headline starts with it); null otherwise.</summary>
    public MemoryMaps.GrowthVerdict? OutsideHeap { get; init; }
}

/// <summary>A type in the leak report: its live count and bytes.</summary>
internal sealed record LeakReportType(string Name, long Count, long Bytes);
