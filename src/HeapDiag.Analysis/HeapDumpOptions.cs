namespace HeapDiag.Analysis;

/// <summary>Options for <see cref="HeapDump.Open"/>: how much memory and disk the analysis of this dump may use.</summary>
public sealed record HeapDumpOptions
{
    /// <summary>
    /// Most memory the analysis may hold on the GC heap, in bytes (run it with this as the GC hard limit); null for no
    /// limit. Before the mark pass the GC's segments tell whether even the mark bitmap fits, and if not
    /// <see cref="HeapAnalysisBudgetException"/> comes at once. Before the dominator tree (retained sizes, leak
    /// suspects) the tree's arrays go to memory-mapped scratch files (with no budget they are ordinary arrays, about
    /// 12 bytes per live object): about 4 bytes per live object stay on the GC heap, and the analysis is refused only
    /// if even that does not fit. Pages of the mapped dump and scratch files are file pages the kernel reclaims under pressure,
    /// not counted here. Default null.
    /// </summary>
    public long? MemoryBudgetBytes { get; init; }

    /// <summary>
    /// Directory for scratch files (<see cref="HeapAnalysisScratchSpaceException.SizeRule"/>, deleted when the
    /// <see cref="HeapDump"/> is disposed). Default: the system temp directory.
    /// </summary>
    public string? ScratchDirectory { get; init; }

    /// <summary>
    /// Bytes of dump pages cached in memory: reads in reference order come from here instead of the file. Default
    /// 32 MiB; a few MiB do for a small heap.
    /// </summary>
    public int PageCacheBytes { get; init; } = 32 << 20;

    /// <summary>
    /// At most this many distinct string values are tracked for duplicate detection (about 40 bytes each); past it,
    /// values not seen yet are no longer counted and the summary says so. Default 500,000.
    /// </summary>
    public int MaxDistinctStrings { get; init; } = 500_000;

    /// <summary>Puts the dominator pass's arrays in memory-mapped scratch files even with no budget: for tests that compare both.</summary>
    internal bool AlwaysMapScratchArrays { get; init; }
}
