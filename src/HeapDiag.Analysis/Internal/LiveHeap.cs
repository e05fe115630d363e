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
    public static LiveHeap Mark(DumpSession dump, RootSet roots, int maxDistinctStrings, bool countAllObjects, Func<ScratchSpace> scratch, PreorderGraph? graph, CancellationToken cancellationToken)
    {
        var integrity = new HeapIntegrity(dump.Segments, dump.PointerSize);
        var walk = integrity.CreateWalkCheck();
        using var wholeHeap = countAllObjects ? WholeHeapWalk.Start(dump, walk, cancellationToken) : null;
        var live = dump.CreateObjectBitmap();
        var census = new LiveCensus(dump, live, maxDistinctStrings) { CountsStrings = countAllObjects };
        var notes = new List<string>();
        var edges = LiveObjectMarker.Mark(dump, roots, live, census, integrity, scratch, graph, cancellationToken);
        graph?.Complete();
        var inHeap = wholeHeap?.Finish(notes);
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
        _inHeap ??= WholeHeapWalk.Count(Dump, new HeapIntegrity(Dump.Segments, Dump.PointerSize).CreateWalkCheck(), _notes, cancellationToken);
        if (!Census.CountsStrings)
        {
            CountLiveStrings(cancellationToken);
            Census.CountsStrings = true;
        }
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
}
