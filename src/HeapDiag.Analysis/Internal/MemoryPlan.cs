using System.Globalization;
using HeapDiag.Analysis.Internal.Dominators;

namespace HeapDiag.Analysis.Internal;

/// <summary>
/// What the analysis of one dump needs on the GC heap (the budget is the analyzer's GC hard limit), before the mark
/// pass from the GC's segments, and after it from the counted objects, with the dominator pass's arrays in
/// memory-mapped scratch files.
/// </summary>
/// <remarks>
/// Pages of the mapped dump and of mapped scratch files are not counted: they are file pages the kernel can drop or
/// write back under pressure (they show in the process's resident set, never in its GC heap).
/// </remarks>
internal static class MemoryPlan
{
    /// <summary>
    /// The least any analysis of a heap of <paramref name="heapBytes"/> needs, whatever its object count: the fixed
    /// part (with the smallest page cache), the mark bitmap and its rank index (1/64 and 1/128 of the heap), what the
    /// page cache holds beyond the smallest and, for the dominator tree, one bucket of predecessors.
    /// </summary>
    public static long MinimumBytes(long heapBytes, int pageCacheBytes, bool dominators) =>
        AnalysisMemory.FixedBytes + (heapBytes / 64) + (heapBytes / 128) + Math.Max(0, pageCacheBytes - AnalysisMemory.SmallestPageCacheBytes)
        + (dominators ? PredecessorBuckets.MaxBucketBytes : 0);

    /// <summary>
    /// Refuses, before the mark pass, a budget below <see cref="MinimumBytes"/>: from the segments alone, and again
    /// once <paramref name="roots"/> are collected with what they hold through every pass (a heap with millions of
    /// <c>ConditionalWeakTable</c> entries holds a lookup of their primaries, which the segments cannot tell).
    /// </summary>
    public static void ThrowIfBelowMinimum(DumpSession dump, long? budget, int pageCacheBytes, bool dominators, RootSet? roots = null)
    {
        if (budget is not { } limit)
        {
            return;
        }

        var heapBytes = dump.Segments.Sum(s => (long)(s.End - s.Start));
        var needed = MinimumBytes(heapBytes, pageCacheBytes, dominators) + (roots?.MemoryBytes ?? 0);
        if (needed > limit)
        {
            var what = roots is null
                ? string.Create(CultureInfo.InvariantCulture, $"({dump.Segments.Count:N0} segments)")
                : string.Create(CultureInfo.InvariantCulture, $"with {roots.Roots.Count:N0} roots and {roots.DependentHandles:N0} dependent handles (ConditionalWeakTable entries)");
            throw new HeapAnalysisBudgetException(needed, limit, string.Create(
                CultureInfo.InvariantCulture,
                $"the analysis of a {ByteSize.Format(heapBytes)} GC heap {what} needs about {ByteSize.Format(needed)} of memory at the least, more than the budget of {ByteSize.Format(limit)}"));
        }
    }

    /// <summary>With its arrays mapped, the pass still holds a predecessor bucket and the root-path search's parents (4 bytes per object) on the GC heap.</summary>
    public static long MappedPeakBytes(long gcBytesNow, long liveObjects, long edges) =>
        AnalysisMemory.FixedBytes + gcBytesNow + PredecessorBuckets.BucketBytes(liveObjects + 2, edges) + (liveObjects * sizeof(int)) + (liveObjects / 8);

    public static void ThrowIfMappedPassDoesNotFit(long gcBytesNow, long liveObjects, long edges, long budget)
    {
        var needed = MappedPeakBytes(gcBytesNow, liveObjects, edges);
        if (needed > budget)
        {
            throw new HeapAnalysisBudgetException(needed, budget, string.Create(
                CultureInfo.InvariantCulture,
                $"the dominator tree of {liveObjects:N0} live objects and {edges:N0} references besides its depth-first tree needs about {ByteSize.Format(needed)} of memory even with its arrays in scratch files, more than the budget of {ByteSize.Format(budget)}"));
        }
    }
}
