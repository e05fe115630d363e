namespace HeapDiag.Analysis;

/// <summary>Options for <see cref="HeapDump.Open"/>: how much memory and disk the analysis of this dump may use.</summary>
public sealed record HeapDumpOptions
{
    /// <summary>
    /// Most memory the process may use during the analysis, in bytes; null for no limit. Before it builds the
    /// dominator tree (retained sizes, leak suspects) the analysis computes what it will need — about 16 bytes per
    /// live object on top of what the process already uses — and throws <see cref="HeapAnalysisBudgetException"/>
    /// instead of allocating past this. Default null.
    /// </summary>
    public long? MemoryBudgetBytes { get; init; }

    /// <summary>
    /// Directory for scratch files (about 24 bytes per live object and 8 per reference, deleted when the
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
}
