namespace HeapDiag.Analysis;

/// <summary>
/// What an analysis needs at the least, known before the dump is opened: a caller with a memory budget can refuse to
/// start one that cannot fit. <see cref="HeapDump"/> checks the same from the GC's segments before its mark pass, and
/// after it decides whether the dominator tree (about 12 bytes per live object in memory) fits in
/// <see cref="HeapDumpOptions.MemoryBudgetBytes"/> or goes to memory-mapped scratch files (about 4 bytes per live
/// object left on the GC heap).
/// </summary>
public static class AnalysisMemory
{
    /// <summary>The runtime, ClrMD with the dumped runtime's data access library, the smallest page cache and the mark pass's stack (8 MiB at most in memory).</summary>
    public const long FixedBytes = 96L << 20;

    /// <summary>The page cache <see cref="FixedBytes"/> already counts: a larger one adds only what it holds beyond this.</summary>
    internal const long SmallestPageCacheBytes = 8L << 20;

    /// <summary>
    /// Memory a summary of a dump of <paramref name="dumpFileBytes"/> bytes needs at the least: the fixed part plus
    /// the mark bitmap and its index (1/64 and 1/128 of the heap, which a heap dump is a little larger than).
    /// </summary>
    public static long MinimumBytes(long dumpFileBytes) => FixedBytes + (dumpFileBytes / 64) + (dumpFileBytes / 128);
}
