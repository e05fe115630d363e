using System.Diagnostics;
using System.Globalization;
using HeapDiag.Analysis.Internal;
using HeapDiag.Analysis.Internal.Dominators;
using HeapDiag.Analysis.Internal.Suspects;

namespace HeapDiag.Analysis;

/// <summary>
/// One open .NET heap dump (an ELF core dump written by <c>createdump</c> / <c>DiagnosticsClient.WriteDump</c>, or a
/// Windows minidump) that answers the questions of a leak hunt: what fills the heap, where memory accumulates, and
/// what keeps a type's instances alive. Like ClrMD's <c>DataTarget</c>, open it once, ask several questions, dispose it.
/// </summary>
/// <remarks>
/// <para>
/// Numbers are of live objects: those reachable from GC roots, found by a mark pass over the dump, so garbage the
/// process had not collected yet does not count. The mark pass and the dominator tree are computed once and shared
/// by every question.
/// </para>
/// <para>
/// Memory: a 32 MiB cache of dump pages, 1/64 of the heap size for the mark bitmap, and for retained sizes and leak
/// suspects about 16 bytes per live object (<see cref="HeapDumpOptions.MemoryBudgetBytes"/> bounds it), with
/// intermediate arrays in scratch files. Every method is synchronous, CPU-bound and single-threaded: run it off a
/// request thread — better, in a process of its own. Not thread-safe.
/// </para>
/// </remarks>
public sealed class HeapDump : IDisposable
{
    private readonly DumpSession _dump;
    private readonly HeapDumpOptions _options;
    private LiveHeap? _live;
    private DominatorTree? _dominators;
    private ScratchSpace? _scratch;

    private HeapDump(DumpSession dump, HeapDumpOptions options)
    {
        _dump = dump;
        _options = options;
    }

    /// <summary>File name of the dump (no directory).</summary>
    public string FileName => _dump.FileName;

    /// <summary>Size of the dump file in bytes.</summary>
    public long FileBytes => _dump.FileBytes;

    /// <summary>Opens a dump.</summary>
    /// <param name="dumpPath">Path of the dump file.</param>
    /// <param name="options">Memory budget and scratch directory; defaults when null.</param>
    /// <exception cref="HeapDumpFormatException">The file is missing, truncated, corrupt or not a .NET dump.</exception>
    public static HeapDump Open(string dumpPath, HeapDumpOptions? options = null)
    {
        options ??= new HeapDumpOptions();
        return new HeapDump(DumpSession.Open(dumpPath, Math.Max(1 << 20, options.PageCacheBytes)), options);
    }

    /// <summary>What fills the heap: live objects by type and generation, retained sizes of the top types, duplicate strings.</summary>
    /// <param name="options">Sizes of the top lists; defaults when null.</param>
    /// <param name="cancellationToken">Checked about every 100,000 objects.</param>
    public HeapSummary Summarize(SummaryOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new SummaryOptions();
        var stopwatch = Stopwatch.StartNew();
        var live = Mark(cancellationToken);
        return HeapSummarizer.Summarize(
            live, options, options.RetainedSizes ? () => Dominators(cancellationToken) : null, () => stopwatch.ElapsedMilliseconds, cancellationToken);
    }

    /// <summary>
    /// Where memory accumulates: the objects (or groups of small same-typed objects) that retain at least
    /// <see cref="SuspectOptions.ThresholdPercent"/> of the live bytes, the accumulation point inside each, what it
    /// holds, the shortest path from a GC root to it, and a fingerprint to match it in other dumps.
    /// </summary>
    /// <param name="options">Threshold and number of suspects; defaults when null.</param>
    /// <param name="cancellationToken">Checked about every 100,000 objects.</param>
    /// <exception cref="HeapAnalysisBudgetException">The dominator tree would need more memory than the budget.</exception>
    public LeakSuspectReport FindLeakSuspects(SuspectOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new SuspectOptions();
        var percent = Math.Clamp(options.ThresholdPercent, 0.001, 100);
        var stopwatch = Stopwatch.StartNew();
        var live = Mark(cancellationToken);
        var tree = Dominators(cancellationToken);
        var liveBytes = tree.Retained[DominatorTree.Root];
        var threshold = (long)Math.Ceiling(liveBytes * percent / 100);

        var typeIds = tree.LoadTypeIds();
        var candidates = SuspectFinder.Find(tree, typeIds, threshold, cancellationToken).Take(Math.Max(1, options.MaxSuspects)).ToList();
        typeIds = null!;
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);

        var suspects = SuspectDescriber.Describe(live, tree, candidates, cancellationToken);
        var notes = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"Retained sizes come from the dominator tree of the live object graph: what would be freed if the object were gone. A suspect retains at least {percent:0.#} % of the {ByteSize.Format(liveBytes)} of live objects."),
        };
        if (suspects.Count == 0)
        {
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"No object, and no group of objects of one type, retains {percent:0.#} % or more of the live bytes: the memory is spread out."));
        }

        notes.AddRange(live.Notes);
        return new LeakSuspectReport(FileName, live.LiveTotals, percent, null, suspects, notes, stopwatch.ElapsedMilliseconds);
    }

    /// <summary>
    /// Shortest reference chains from GC roots to a sample of the live instances of a type, grouped by identical chain.
    /// Static fields appear as roots named <c>Namespace.Type.Field</c>.
    /// </summary>
    /// <param name="typeName">Full type name (<c>MyApp.Order</c>), or an unambiguous last part of it (<c>Order</c>, or <c>Outer+Inner</c>).</param>
    /// <param name="options">Sample size and number of chains; defaults when null.</param>
    /// <param name="cancellationToken">Checked about every 100,000 objects.</param>
    /// <exception cref="HeapTypeNotFoundException">No live type has that name, or several do (the exception lists them).</exception>
    public RetentionReport FindRetainers(string typeName, RetainerOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(typeName);
        return RetainerSearch.Find(Mark(cancellationToken), typeName.Trim(), options ?? new RetainerOptions(), cancellationToken);
    }

    /// <summary>
    /// What the runtime held beside the objects: GC handles by kind, the finalizer queue, threads, modules and dynamic
    /// assemblies, and each generation's free space with the pinned objects after it. One walk over the heap, no mark pass.
    /// </summary>
    /// <param name="cancellationToken">Checked about every 65,000 objects.</param>
    public RuntimeReport InspectRuntime(CancellationToken cancellationToken = default) => Internal.Runtime.RuntimeInspector.Inspect(_dump, cancellationToken);

    /// <summary>Closes the dump and deletes the scratch files.</summary>
    public void Dispose()
    {
        _scratch?.Dispose();
        _dump.Dispose();
    }

    private LiveHeap Mark(CancellationToken cancellationToken) =>
        _live ??= LiveHeap.Mark(_dump, Math.Max(1, _options.MaxDistinctStrings), cancellationToken);

    private DominatorTree Dominators(CancellationToken cancellationToken)
    {
        if (_dominators is not null)
        {
            return _dominators;
        }

        var live = Mark(cancellationToken);
        var needed = Environment.WorkingSet + DominatorTree.PeakBytes(live.Live.Count, live.EdgeCount);
        if (_options.MemoryBudgetBytes is { } budget && needed > budget)
        {
            throw new HeapAnalysisBudgetException(needed, budget, string.Create(
                CultureInfo.InvariantCulture,
                $"the dominator tree of {live.Live.Count:N0} live objects and {live.EdgeCount:N0} references needs about {ByteSize.Format(needed)} of memory in all, more than the budget of {ByteSize.Format(budget)}"));
        }

        _scratch ??= ScratchSpace.Create(_options.ScratchDirectory);
        var scratchBytes = DominatorTree.ScratchBytes(live.Live.Count, live.EdgeCount);
        if (_scratch.FreeBytes() is { } free && free < scratchBytes)
        {
            throw new IOException(string.Create(
                CultureInfo.InvariantCulture,
                $"the dominator tree needs about {ByteSize.Format(scratchBytes)} of scratch space in {_scratch.DirectoryPath}, but only {ByteSize.Format(free)} is free"));
        }

        var scratch = _scratch;
        return _dominators = DominatorTree.Compute(() => ObjectGraph.Build(live, scratch, cancellationToken), _dump.PointerSize, scratch, cancellationToken);
    }
}
