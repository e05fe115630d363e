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
/// suspects about 12 bytes per live object (<see cref="HeapDumpOptions.MemoryBudgetBytes"/> bounds it), with
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
        var live = Mark(cancellationToken, countAllObjects: true, recordGraph: options.RetainedSizes);
        var summary = HeapSummarizer.Summarize(
            live, options, options.RetainedSizes ? () => Dominators(cancellationToken) : null, () => stopwatch.ElapsedMilliseconds, cancellationToken);
        return summary with { Damage = live.Damage };
    }

    /// <summary>
    /// Where memory accumulates: the objects (or groups of small same-typed objects) that retain at least
    /// <see cref="SuspectOptions.ThresholdPercent"/> of the live bytes, the accumulation point inside each, what it
    /// holds, the shortest path from a GC root to it, and a fingerprint to match it in other dumps.
    /// </summary>
    /// <param name="options">Threshold and number of suspects; defaults when null.</param>
    /// <param name="cancellationToken">Checked about every 100,000 objects.</param>
    /// <exception cref="HeapAnalysisBudgetException">The dominator tree would need more memory than the budget.</exception>
    /// <exception cref="HeapDumpDamagedException">The dump is damaged past <see cref="HeapDamage.LimitPercent"/>.</exception>
    public LeakSuspectReport FindLeakSuspects(SuspectOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new SuspectOptions();
        var percent = Math.Clamp(options.ThresholdPercent, 0.001, 100);
        var stopwatch = Stopwatch.StartNew();
        var live = Mark(cancellationToken, forDominators: true);
        var tree = Dominators(cancellationToken);
        var liveBytes = tree.Retained[DominatorTree.Root];
        var threshold = (long)Math.Ceiling(liveBytes * percent / 100);

        List<SuspectCandidate> candidates;
        using (var typeIds = tree.LoadTypeIds())
        {
            candidates = [.. SuspectFinder.Find(tree, typeIds, threshold, cancellationToken).Take(Math.Max(1, options.MaxSuspects))];
        }

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
        return new LeakSuspectReport(FileName, live.LiveTotals, percent, null, suspects, notes, stopwatch.ElapsedMilliseconds) { Damage = live.Damage };
    }

    /// <summary>
    /// Shortest reference chains from GC roots to a sample of the live instances of a type, grouped by identical chain.
    /// Static fields appear as roots named <c>Namespace.Type.Field</c>.
    /// </summary>
    /// <param name="typeName">Full type name (<c>MyApp.Order</c>), or an unambiguous last part of it (<c>Order</c>, or <c>Outer+Inner</c>).</param>
    /// <param name="options">Sample size and number of chains; defaults when null.</param>
    /// <param name="cancellationToken">Checked about every 100,000 objects.</param>
    /// <exception cref="HeapTypeNotFoundException">No live type has that name, or several do (the exception lists them).</exception>
    /// <exception cref="HeapDumpDamagedException">The dump is damaged past <see cref="HeapDamage.LimitPercent"/>.</exception>
    public RetentionReport FindRetainers(string typeName, RetainerOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(typeName);
        var live = Mark(cancellationToken);
        var report = RetainerSearch.Find(live, typeName.Trim(), options ?? new RetainerOptions(), cancellationToken);
        return live.Damage is not { } damage ? report : report with { Damage = damage, Notes = [HeapIntegrity.Note(damage), .. report.Notes] };
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
        _dominators?.Dispose();
        _scratch?.Dispose();
        _dump.Dispose();
    }

    /// <summary>
    /// The mark pass, once. <paramref name="forDominators"/>: the dominator tree must follow (leak suspects), so a budget
    /// too small for it is refused before the mark pass, from the segments alone; a summary still counts objects and
    /// notes the retained sizes it could not compute. <paramref name="countAllObjects"/>: also count every object,
    /// live or not (a summary says both). <paramref name="recordGraph"/> (implied by <paramref name="forDominators"/>):
    /// record the live graph for the dominator tree as the pass goes; a mark pass that did not is run again.
    /// </summary>
    private LiveHeap Mark(CancellationToken cancellationToken, bool forDominators = false, bool countAllObjects = false, bool recordGraph = false)
    {
        recordGraph |= forDominators;
        if (_live is { Graph: null } && recordGraph)
        {
            _live = null;
        }

        if (_live is null)
        {
            if (forDominators)
            {
                MemoryPlan.ThrowIfBelowMinimum(_dump, _options.MemoryBudgetBytes, _options.PageCacheBytes, dominators: true);
            }

            var roots = RootSet.Collect(_dump, cancellationToken);
            if (forDominators)
            {
                MemoryPlan.ThrowIfBelowMinimum(_dump, _options.MemoryBudgetBytes, _options.PageCacheBytes, dominators: true, roots);
            }

            var graph = recordGraph ? new PreorderGraph(Scratch(), _dump.Objects.Types) : null;
            try
            {
                _live = LiveHeap.Mark(_dump, roots, Math.Max(1, _options.MaxDistinctStrings), countAllObjects, Scratch, graph, cancellationToken);
            }
            catch (Exception ex)
            {
                graph?.Dispose();
                if (DiscardScratch(ex) is { } full)
                {
                    throw full;
                }

                throw;
            }
        }

        if (countAllObjects)
        {
            _live.CountAllObjects(cancellationToken);
        }

        return _live;
    }

    /// <summary>The scratch directory, created when first needed: a summary of most heaps writes nothing.</summary>
    private ScratchSpace Scratch() => _scratch ??= ScratchSpace.Create(_options.ScratchDirectory);

    private DominatorTree Dominators(CancellationToken cancellationToken)
    {
        if (_dominators is not null)
        {
            return _dominators;
        }

        MemoryPlan.ThrowIfBelowMinimum(_dump, _options.MemoryBudgetBytes, _options.PageCacheBytes, dominators: true);
        var live = Mark(cancellationToken, recordGraph: true);
        var gcBytes = GC.GetTotalMemory(forceFullCollection: true);
        // With a budget the arrays always go to mapped files: the GC heap then holds about 4 bytes per live object
        // whatever the heap's size, and on this pass's access pattern mapped arrays cost no more time than managed ones.
        var inMemory = !_options.AlwaysMapScratchArrays && _options.MemoryBudgetBytes is null;

        // What the dominator pass reads back: the recorded references, without the tree edges.
        var graph = live.Graph!;
        var references = graph.EdgeCount;
        if (_options.MemoryBudgetBytes is { } budget)
        {
            MemoryPlan.ThrowIfMappedPassDoesNotFit(gcBytes, live.Live.Count, references, budget);
            live.AddNote(string.Create(
                CultureInfo.InvariantCulture,
                $"The dominator tree's arrays were kept in memory-mapped scratch files (in memory they would take about {ByteSize.Format(DominatorTree.PeakBytes(live.Live.Count, references))} of the budget of {ByteSize.Format(budget)}): file pages the kernel can reclaim, not GC heap."));
        }

        graph.Scratch.MapsArrays = !inMemory;
        var scratchBytes = DominatorTree.ScratchBytes(live.Live.Count, references, mapped: !inMemory);
        if (graph.Scratch.FreeBytes() is { } free && free < scratchBytes)
        {
            _live = null;
            throw DiscardScratch(failure: null, neededBytes: scratchBytes)!;
        }

        try
        {
            return _dominators = DominatorTree.Compute(graph, live.Live, _dump.PointerSize, cancellationToken);
        }
        catch (Exception ex)
        {
            // The computation consumes the recorded graph: a second attempt marks again.
            _live = null;
            if (DiscardScratch(ex) is { } full)
            {
                throw full;
            }

            throw;
        }
    }

    /// <summary>
    /// Deletes the scratch files. Returns what to throw instead of <paramref name="failure"/> when it was a full scratch
    /// volume (or, with <paramref name="neededBytes"/>, when the next step would not fit): the free space is taken
    /// before the files go, so it is what the analysis met.
    /// </summary>
    private HeapAnalysisScratchSpaceException? DiscardScratch(Exception? failure, long? neededBytes = null)
    {
        var scratch = _scratch;
        _scratch = null;
        if (scratch is null)
        {
            return null;
        }

        HeapAnalysisScratchSpaceException? full = null;
        if (neededBytes is not null || (failure is not null && ScratchSpace.IsFull(failure)))
        {
            var free = scratch.FreeBytes();
            var directory = Path.GetDirectoryName(scratch.DirectoryPath) ?? scratch.DirectoryPath;
            var message = neededBytes is { } needed
                ? $"the dominator tree needs about {ByteSize.Format(needed)} more scratch space in {directory}, but only {ByteSize.Format(free ?? 0)} is free"
                : $"the analysis ran out of scratch space in {directory} ({(free is { } left ? ByteSize.Format(left) : "nothing")} free)";
            full = new HeapAnalysisScratchSpaceException(directory, neededBytes, free, message, failure);
        }

        scratch.Dispose();
        return full;
    }
}
