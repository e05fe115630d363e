namespace HeapDiag.Analysis;

/// <summary>Options for <see cref="HeapDumpAnalyzer.Summarize"/>.</summary>
public sealed record SummaryOptions
{
    /// <summary>How many types (and duplicate strings) the "top" lists hold. Default 20.</summary>
    public int Top { get; init; } = 20;

    /// <summary>
    /// Retained sizes are computed only when the heap has at most this many live objects; above it
    /// <see cref="HeapSummary.RetainedBytes"/> is <see langword="null"/>. The dominator tree costs about
    /// 60 bytes of memory per live object and makes the summary about 2.5 times slower (measured with 4 M objects:
    /// 225 MB more, 1.6 s → 4.0 s).
    /// Default 5,000,000; 0 turns retained sizes off.
    /// </summary>
    public long MaxObjectsForRetainedSize { get; init; } = 5_000_000;

    /// <summary>
    /// At most this many distinct string values are tracked for duplicate detection (about 40 bytes each);
    /// past it, values not seen yet are no longer counted and <see cref="HeapSummary.Notes"/> says so. Default 500,000.
    /// </summary>
    public int MaxDistinctStrings { get; init; } = 500_000;
}
