namespace HeapDiag.AspNetCore.Diagnostics.MemoryMaps;

/// <summary>
/// The leak indicator from the memory map: when the growth since start is mostly outside the GC heap's objects, it
/// comes first among the indicators, with the fix, because it decides whether a heap dump can help at all.
/// </summary>
internal static class MemoryMapIndicators
{
    public static LeakAnalysis Add(LeakAnalysis analysis, MemoryMap? map, int loadedAssemblies)
    {
        if (GrowthVerdict.Of(map, loadedAssemblies) is not { } verdict)
        {
            return analysis;
        }

        List<string> leaks = [$"{verdict.Headline}. {verdict.Fix}", .. analysis.PotentialLeaks];
        return new LeakAnalysis(leaks, $"WARNING: {leaks.Count} potential leak indicator(s) found. See potentialLeaks; the first says the growth is not objects on the GC heap.");
    }
}
