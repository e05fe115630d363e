using System.Globalization;
using HeapDiag.Analysis.Internal.Dominators;

namespace HeapDiag.Analysis.Internal;

/// <summary>
/// The result of the mark pass, shared by every question asked of one dump: the roots, which objects are live (a
/// bitmap with dense numbers), how many references join them, the census by type and generation, and the whole-heap
/// totals (live or not) from ClrMD's walk, which runs beside the mark pass when the reader allows.
/// </summary>
internal sealed class LiveHeap
{
    private const int CancellationCheckInterval = 100_000;

    private readonly List<string> _notes;
    private HeapTotals? _inHeap;

    private LiveHeap(DumpSession dump, RootSet roots, ObjectBitmap live, long edgeCount, LiveCensus census, HeapTotals? inHeap, List<string> notes, HeapDamage? damage, PreorderGraph? graph)
    {
        Graph = graph;
        Damage = damage;
        Dump = dump;
        Roots = roots;
        Live = live;
        EdgeCount = edgeCount;
        Census = census;
        _inHeap = inHeap;
        _notes = notes;
    }

    public DumpSession Dump { get; }

    public RootSet Roots { get; }

    /// <summary>The live objects; <see cref="ObjectBitmap.BuildIndex"/> has been called.</summary>
    public ObjectBitmap Live { get; }

    /// <summary>References between live objects, from the roots included.</summary>
    public long EdgeCount { get; }

    public LiveCensus Census { get; }

    /// <summary>The live graph in depth-first preorder, when the mark pass was asked to record it (for the dominator tree).</summary>
    public PreorderGraph? Graph { get; }

    public HeapTotals LiveTotals => new(Census.Objects, Census.Bytes);

    /// <summary>Every object in the heap, live or not yet collected; <see cref="CountAllObjects(CancellationToken)"/> has been called.</summary>
    public HeapTotals InHeap => _inHeap ?? throw new InvalidOperationException("The whole heap has not been counted.");

    /// <summary>What the checks left out of every number because the dump is damaged; null when nothing was.</summary>
    public HeapDamage? Damage { get; }

    /// <summary>What the passes had to say about the dump (unreadable objects, a GC in progress).</summary>
    public IReadOnlyList<string> Notes => _notes;

    /// <summary>
    /// The mark pass. With <paramref name="countAllObjects"/> (what a summary reports) ClrMD's walk of the whole heap
    /// runs beside it; leak suspects and retainers need only live objects and leave that walk out. With
    /// <paramref name="graph"/> the pass also records the live graph for the dominator tree (and completes it).
    /// </summary>
    public static LiveHeap Mark(DumpSession dump, int maxDistinctStrings, bool countAllObjects, PreorderGraph? graph, CancellationToken cancellationToken)
    {
        var roots = RootSet.Collect(dump, cancellationToken);
        var live = dump.CreateObjectBitmap();
        var census = new LiveCensus(dump, live, maxDistinctStrings) { CountsStrings = countAllObjects };
        var notes = new List<string>();
        var integrity = new HeapIntegrity(dump.Segments, dump.PointerSize);
        var walk = integrity.CreateWalkCheck();
        (var edges, var inHeap) = countAllObjects
            ? MarkWhileCountingAllObjects(dump, roots, live, census, (integrity, walk), graph, notes, cancellationToken)
            : (LiveObjectMarker.Mark(dump, roots, live, census, integrity, graph, cancellationToken), (HeapTotals?)null);
        graph?.Complete();
        var damage = integrity.Assess(new HeapTotals(census.Objects, census.Bytes), inHeap, edges, walk, gcInProgress: !dump.Heap.CanWalkHeap);
        integrity.ForgetSkipped(live);
        live.BuildIndex();
        if (damage is not null)
        {
            notes.Insert(0, HeapIntegrity.Note(damage));
        }

        if (!dump.Heap.CanWalkHeap)
        {
            notes.Add("The dump was written while a garbage collection was running; some objects may have been unreadable and the counts may be incomplete.");
        }

        return new LiveHeap(dump, roots, live, edges, census, inHeap, notes, damage, graph);
    }

    /// <summary>Adds what a later pass has to say about this dump's analysis.</summary>
    public void AddNote(string note) => _notes.Add(note);

    /// <summary>
    /// What a summary needs beyond the mark pass for leak suspects: every object in the heap for <see cref="InHeap"/>,
    /// and the live strings by value, unless the mark pass already counted them.
    /// </summary>
    public void CountAllObjects(CancellationToken cancellationToken)
    {
        _inHeap ??= CountAllObjects(Dump, new HeapIntegrity(Dump.Segments, Dump.PointerSize).CreateWalkCheck(), _notes, cancellationToken);
        if (!Census.CountsStrings)
        {
            CountLiveStrings(cancellationToken);
            Census.CountsStrings = true;
        }
    }

    /// <summary>
    /// Runs the mark pass and returns the edge count and the whole-heap totals. The whole-heap walk (ClrMD's,
    /// sequential reads) and the mark pass (ours, reference order) read the dump independently; with a thread-safe
    /// reader they run side by side, so this takes about as long as the longer of the two.
    /// </summary>
    private static (long Edges, HeapTotals InHeap) MarkWhileCountingAllObjects(
        DumpSession dump, RootSet roots, ObjectBitmap live, LiveCensus census, (HeapIntegrity Mark, HeapWalkCheck Walk) checks, PreorderGraph? graph, List<string> notes, CancellationToken cancellationToken)
    {
        if (!dump.CanReadConcurrently)
        {
            var markedEdges = LiveObjectMarker.Mark(dump, roots, live, census, checks.Mark, graph, cancellationToken);
            return (markedEdges, CountAllObjects(dump, checks.Walk, notes, cancellationToken));
        }

        var walkNotes = new List<string>();
        using var walkCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var wholeHeap = Task.Run(() => CountAllObjects(dump, checks.Walk, walkNotes, walkCancellation.Token), CancellationToken.None);
        long edges;
        try
        {
            edges = LiveObjectMarker.Mark(dump, roots, live, census, checks.Mark, graph, cancellationToken);
        }
        catch
        {
            // The walk must not outlive the dump it reads, which the caller disposes.
            walkCancellation.Cancel();
            ((IAsyncResult)wholeHeap).AsyncWaitHandle.WaitOne();
            throw;
        }

        var totals = wholeHeap.GetAwaiter().GetResult();
        notes.AddRange(walkNotes);
        return (edges, totals);
    }

    /// <summary>The live strings by value, in address order: one pass over the bitmap, reading method tables in place.</summary>
    private void CountLiveStrings(CancellationToken cancellationToken)
    {
        var objects = Dump.Objects;
        long seen = 0;
        foreach (var address in Live.EnumerateSet())
        {
            if (++seen % CancellationCheckInterval == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            if (objects.GetType(address) is { IsString: true } type)
            {
                Census.Strings.Add(address, objects.GetSize(address, type));
            }
        }
    }

    /// <summary>Every object in the heap, live or not yet collected: ClrMD's sequential heap walk.</summary>
    private static HeapTotals CountAllObjects(DumpSession dump, HeapWalkCheck check, List<string> notes, CancellationToken cancellationToken)
    {
        long objects = 0;
        long bytes = 0;
        long unreadable = 0;
        var alignment = (ulong)dump.PointerSize - 1;
        foreach (var obj in dump.Heap.EnumerateObjects())
        {
            if (++objects % CancellationCheckInterval == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            if (!check.Readable(obj.Address, obj.Type is null ? 0 : obj.Size, obj.Type is not null))
            {
                unreadable++;
                objects--;
                continue;
            }

            if (obj.Type!.IsFree)
            {
                objects--;
                continue;
            }

            bytes += (long)((obj.Size + alignment) & ~alignment);
        }

        check.Finish();
        if (unreadable > 0)
        {
            notes.Add(string.Create(
                CultureInfo.InvariantCulture,
                $"{unreadable:N0} places in the heap did not hold a readable object (unknown method table) and were skipped."));
        }

        return new HeapTotals(objects, bytes);
    }
}
