namespace HeapDiag.Analysis.Internal.Dominators;

/// <summary>
/// The live object graph in compressed sparse row form: the references of node n are
/// <c>Targets[FirstTarget[n] .. FirstTarget[n + 1])</c>. Node 0 is a virtual root that references every GC root;
/// node r + 1 is the live object with dense number r (<see cref="ObjectBitmap.IndexOf"/>).
/// </summary>
/// <remarks>
/// Built in one pass over the live objects in address order (sequential reads of the dump) into arrays sized exactly
/// from the mark pass's edge count: 4 bytes per node and 4 per reference, nothing more. Each object's size and type
/// go to scratch files instead of memory (<see cref="SizesFile"/>, <see cref="TypesFile"/>, in node order): they are
/// needed only later, in another order.
/// </remarks>
internal sealed class ObjectGraph : IDisposable
{
    public const string SizesFile = "sizes.node";
    public const string TypesFile = "types.node";

    private const int CancellationCheckInterval = 100_000;

    private ObjectGraph(int nodeCount, IntArray firstTarget, IntArray targets, IReadOnlyList<HeapType> typeTable)
    {
        NodeCount = nodeCount;
        FirstTarget = firstTarget;
        Targets = targets;
        TypeTable = typeTable;
    }

    /// <summary>Live objects + 1 (the virtual root).</summary>
    public int NodeCount { get; }

    public IntArray FirstTarget { get; }

    public IntArray Targets { get; }

    /// <summary>The types the type ids in <see cref="TypesFile"/> index; −1 there means an unreadable object (or the virtual root).</summary>
    public IReadOnlyList<HeapType> TypeTable { get; }

    /// <summary>
    /// A graph from plain adjacency lists (node 0 is the virtual root), with each node's size and no types: for testing
    /// the dominator computation against a simple one.
    /// </summary>
    public static ObjectGraph FromAdjacency(IReadOnlyList<int[]> references, IReadOnlyList<int> sizes, ScratchSpace scratch)
    {
        var firstTarget = scratch.CreateArray("first-target", references.Count + 1);
        var targets = new List<int>();
        using var sizeFile = scratch.CreateWriter(SizesFile);
        using var typeFile = scratch.CreateWriter(TypesFile);
        for (var node = 0; node < references.Count; node++)
        {
            firstTarget[node] = targets.Count;
            targets.AddRange(references[node]);
            sizeFile.Write(sizes[node]);
            typeFile.Write(-1);
        }

        firstTarget[references.Count] = targets.Count;
        var targetArray = scratch.CreateArray("targets", targets.Count);
        targets.CopyTo(targetArray.Span);
        return new ObjectGraph(references.Count, firstTarget, targetArray, []);
    }

    /// <summary>Bytes the graph's arrays take: what <see cref="Build"/> allocates.</summary>
    public static long ArrayBytes(long liveObjects, long edges) => ((liveObjects + 2) * sizeof(int)) + (edges * sizeof(int));

    public static ObjectGraph Build(LiveHeap heap, ScratchSpace scratch, CancellationToken cancellationToken)
    {
        var live = heap.Live;
        var nodeCount = checked((int)live.Count + 1);
        var firstTarget = scratch.CreateArray("first-target", nodeCount + 1);
        var edges = new EdgeWriter(live, scratch.CreateArray("targets", heap.EdgeCount));
        var typeTable = new List<HeapType>();
        var typeIdOf = new Dictionary<HeapType, int>(ReferenceEqualityComparer.Instance);

        using var sizes = scratch.CreateWriter(SizesFile);
        using var types = scratch.CreateWriter(TypesFile);
        foreach (var root in heap.Roots.Roots)
        {
            edges.Visit(root.Object, 0);
        }

        sizes.Write(0);
        types.Write(-1);

        var node = 0;
        var objects = heap.Dump.Objects;
        foreach (var address in live.EnumerateSet())
        {
            if (++node % CancellationCheckInterval == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            firstTarget[node] = edges.Count;
            if (objects.GetType(address) is not { } type)
            {
                sizes.Write(0);
                types.Write(-1);
                continue;
            }

            if (!typeIdOf.TryGetValue(type, out var typeId))
            {
                typeId = typeTable.Count;
                typeTable.Add(type);
                typeIdOf[type] = typeId;
            }

            var size = objects.GetSize(address, type);
            sizes.Write((int)Math.Min(size, int.MaxValue));
            types.Write(typeId);
            objects.VisitReferences(address, type, size, ref edges);
            heap.Roots.VisitDependents(address, ref edges);
        }

        firstTarget[nodeCount] = edges.Count;
        return new ObjectGraph(nodeCount, firstTarget, edges.Targets, typeTable);
    }

    public void Dispose()
    {
        FirstTarget.Dispose();
        Targets.Dispose();
    }

    /// <summary>Writes references as node numbers into the exactly sized target array.</summary>
    private struct EdgeWriter(ObjectBitmap live, IntArray targets) : IReferenceVisitor
    {
        public readonly IntArray Targets => targets;

        public int Count { get; private set; }

        public bool Visit(ulong reference, int offset)
        {
            var index = live.IndexOf(reference);
            if (index >= 0)
            {
                if (Count == targets.Length)
                {
                    // The mark pass counted the same references; reading the dump twice gave two answers.
                    throw new InvalidOperationException("The object graph has more references than the mark pass counted.");
                }

                targets[Count++] = (int)index + 1;
            }

            return true;
        }
    }
}
