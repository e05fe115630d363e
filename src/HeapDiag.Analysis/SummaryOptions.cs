namespace HeapDiag.Analysis;

/// <summary>Options for <see cref="HeapDump.Summarize"/>.</summary>
public sealed record SummaryOptions
{
    /// <summary>How many types (and duplicate strings) the "top" lists hold. Default 20.</summary>
    public int Top { get; init; } = 20;

    /// <summary>
    /// Whether to compute the retained sizes of the top types from the dominator tree (memory: see
    /// <see cref="HeapDumpOptions.MemoryBudgetBytes"/>; time: about twice the summary without them). When the budget
    /// is too small they are left out and <see cref="HeapSummary.Notes"/> says so. Default true.
    /// </summary>
    public bool RetainedSizes { get; init; } = true;
}
