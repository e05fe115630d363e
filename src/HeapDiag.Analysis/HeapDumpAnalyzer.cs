using HeapDiag.Analysis.Internal;

namespace HeapDiag.Analysis;

/// <summary>
/// Reads .NET heap dumps (ELF core dumps written by <c>createdump</c> / <c>DiagnosticsClient.WriteDump</c>, or Windows
/// minidumps) and answers the questions of a leak hunt: what fills the heap, what grew between two dumps, and what
/// keeps a type's instances alive.
/// </summary>
/// <remarks>
/// Numbers are of live objects: those reachable from GC roots, found by a mark pass over the dump, so garbage the
/// process had not collected yet does not count. Every method is synchronous, CPU-bound and single-threaded; run it
/// off a request thread. The analysis holds a 32 MiB cache of dump pages plus 1/64 of the heap size for the mark
/// bitmap, and reads the dump file without modifying it.
/// </remarks>
public static class HeapDumpAnalyzer
{
    /// <summary>Opens the dump and computes its summary.</summary>
    /// <param name="dumpPath">Path of the dump file.</param>
    /// <param name="options">Sizes of the top lists and limits; defaults when null.</param>
    /// <param name="cancellationToken">Checked about every 100,000 objects.</param>
    /// <exception cref="HeapDumpFormatException">The file is missing, truncated, corrupt or not a .NET dump.</exception>
    public static HeapSummary Summarize(string dumpPath, SummaryOptions? options = null, CancellationToken cancellationToken = default)
    {
        using DumpSession dump = DumpSession.Open(dumpPath);
        return HeapSummarizer.Summarize(dump, options ?? new SummaryOptions(), cancellationToken);
    }

    /// <summary>
    /// Compares two summaries (after − before) by type name. Pure and instant, so a cached summary of each dump is
    /// all a diff needs.
    /// </summary>
    /// <param name="before">Summary of the earlier dump.</param>
    /// <param name="after">Summary of the later dump.</param>
    /// <param name="top">Maximum entries in each list of the result.</param>
    public static HeapDiff Diff(HeapSummary before, HeapSummary after, int top = 50)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        return HeapDiffer.Diff(before, after, top);
    }

    /// <summary>
    /// Shortest reference chains from GC roots to a sample of the live instances of a type, grouped by identical chain.
    /// Static fields appear as roots named <c>Namespace.Type.Field</c>.
    /// </summary>
    /// <param name="dumpPath">Path of the dump file.</param>
    /// <param name="typeName">
    /// Full type name (<c>MyApp.Order</c>), or an unambiguous last part of it (<c>Order</c>, or <c>Outer+Inner</c>).
    /// </param>
    /// <param name="options">Sample size and number of chains; defaults when null.</param>
    /// <param name="cancellationToken">Checked about every 100,000 objects.</param>
    /// <exception cref="HeapDumpFormatException">The file is missing, truncated, corrupt or not a .NET dump.</exception>
    /// <exception cref="ArgumentException">The name matches several types; the message lists them.</exception>
    public static RetentionReport FindRetainers(string dumpPath, string typeName, RetainerOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(typeName);
        using DumpSession dump = DumpSession.Open(dumpPath);
        return RetainerSearch.Find(dump, typeName.Trim(), options ?? new RetainerOptions(), cancellationToken);
    }
}
