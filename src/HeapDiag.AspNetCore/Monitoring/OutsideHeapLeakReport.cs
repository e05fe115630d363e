using HeapDiag.AspNetCore.Diagnostics;
using HeapDiag.AspNetCore.Diagnostics.MemoryMaps;

namespace HeapDiag.AspNetCore.Monitoring;

/// <summary>
/// Puts the memory map's word first in an automatic leak report: when the growth behind the threshold crossing is
/// mostly outside the GC heap's objects, the headline says so, with the fix for that kind, and the managed suspects
/// follow as secondary — a suspect named first would send the reader to the wrong place.
/// </summary>
internal static class OutsideHeapLeakReport
{
    public static AutoDumpLeakReport Lead(AutoDumpLeakReport report, MemoryDiagnostics? diagnostics)
    {
        if (GrowthVerdict.Of(diagnostics?.MemoryMap, diagnostics?.Runtime.LoadedAssemblies) is not { } verdict)
        {
            return report;
        }

        return report with
        {
            Headline = $"{verdict.Headline}. {verdict.Fix} Managed suspects (secondary): {report.Headline}",
            OutsideHeap = verdict,
        };
    }
}
