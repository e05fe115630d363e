using System.Runtime.CompilerServices;

namespace HeapDiag.Analysis.Internal.Dominators;

/// <summary>
/// The dominator tree of the live object graph: object A dominates B when every path from the GC roots to B passes
/// through A, so B dies when A does. The retained size of A is the size of everything A dominates, A included.
/// </summary>
/// <remarks>
/// <para>
/// Vertices are numbered in depth-first preorder from a virtual root above every GC root, as the mark pass recorded
/// them (<see cref="PreorderGraph"/>): 1 is the virtual root, 2 … <see cref="VertexCount"/> are live objects; a
/// dominator always has a smaller number than what it dominates. The dominators come from <see cref="ImmediateDominators"/>.
/// </para>
/// <para>
/// Memory is what bounds this on a large heap, so at no point are more than a few int arrays in memory: each live
/// object's preorder number (4 bytes per object) while the recorded references are turned into predecessor lists;
/// then the three Lengauer–Tarjan arrays (12 bytes per object); then the dominators and retained sizes (12 bytes per
/// object). Everything read back once in order — parents, sizes and types in preorder, the predecessor lists sorted
/// by target in buckets (<see cref="PredecessorBuckets"/>) — goes through scratch files instead.
/// </para>
/// </remarks>
internal sealed class DominatorTree : IDisposable
{
    private readonly ScratchSpace _scratch;
    private readonly ObjectBitmap _live;

    private DominatorTree(ScratchSpace scratch, ObjectBitmap live, int vertexCount, IntArray immediateDominator, RetainedSizes retained, IReadOnlyList<HeapType> typeTable)
    {
        _scratch = scratch;
        _live = live;
        VertexCount = vertexCount;
        ImmediateDominator = immediateDominator;
        Retained = retained;
        TypeTable = typeTable;
    }

    /// <summary>The virtual root's number.</summary>
    public const int Root = 1;

    /// <summary>Vertices: the virtual root and the live objects reached from it.</summary>
    public int VertexCount { get; }

    /// <summary>By preorder number; 0 for the virtual root.</summary>
    public IntArray ImmediateDominator { get; }

    /// <summary>Retained bytes by preorder number; the virtual root's is all live bytes.</summary>
    public RetainedSizes Retained { get; }

    /// <summary>What the ids of <see cref="LoadTypeIds"/> index.</summary>
    public IReadOnlyList<HeapType> TypeTable { get; }

    /// <summary>
    /// The most memory the computation holds at once beyond what the mark pass already holds, for
    /// <paramref name="liveObjects"/> objects joined by <paramref name="edges"/> recorded references (not the tree edges).
    /// </summary>
    public static long PeakBytes(long liveObjects, long edges)
    {
        var vertices = liveObjects + 2;
        var numbering = (vertices * sizeof(int)) + PredecessorBuckets.BucketBytes(vertices, edges);
        var semidominators = (3 * vertices * sizeof(int)) + PredecessorBuckets.BucketBytes(vertices, edges);
        var result = 2 * vertices * sizeof(int);

        // The suspects and type totals afterwards add one int array (types, then the BFS parents) to the result.
        var afterwards = result + (vertices * sizeof(int));
        return Math.Max(Math.Max(numbering, semidominators), afterwards);
    }

    /// <summary>
    /// Bytes of scratch files the computation writes at most beyond the mark pass's recording (5 ints per object and 3
    /// per reference, on disk already): the predecessor buckets and, mapped, the arrays.
    /// </summary>
    /// <param name="liveObjects">Live objects.</param>
    /// <param name="edges">References between them that the recording holds (not the tree edges).</param>
    /// <param name="mapped">Whether the arrays go to scratch files too (about 5 ints per object at most).</param>
    public static long ScratchBytes(long liveObjects, long edges, bool mapped) =>
        ((liveObjects + 2) * (mapped ? 5 : 0) * sizeof(int)) + (edges * 2 * sizeof(int));

    /// <remarks>
    /// Each phase is a method of its own and compiled fully optimized from the start, so that an array is collectable
    /// as soon as its phase is done (unoptimized code keeps temporaries alive to the end of the method), and the
    /// collection between phases gives the memory back to the operating system.
    /// </remarks>
    /// <param name="graph">The live graph as the mark pass recorded it (complete).</param>
    /// <param name="live">The mark bitmap, indexed: resolves the recorded references' target addresses.</param>
    /// <param name="pointerSize">Pointer size of the dumped process: every object size is a multiple of it.</param>
    /// <param name="cancellationToken">Checked about every million vertices.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static DominatorTree Compute(PreorderGraph graph, ObjectBitmap live, int pointerSize, CancellationToken cancellationToken)
    {
        var scratch = graph.Scratch;
        var vertexCount = graph.VertexCount;
        var buckets = ReverseEdges(graph, live, cancellationToken);
        ReleaseMemory();
        var idom = ImmediateDominators.Compute(buckets, vertexCount, scratch, cancellationToken);
        ReleaseMemory();
        var retained = SumRetainedSizes(idom, vertexCount, pointerSize, scratch);
        return new DominatorTree(scratch, live, vertexCount, idom, retained, graph.TypeTable);
    }

    /// <summary>The address of the object at preorder number <paramref name="vertex"/>; 0 for the virtual root.</summary>
    public ulong AddressOf(int vertex) => (ulong)_scratch.ReadAt<long>(PreorderGraph.AddressesFile, vertex);

    /// <summary>The dense number (<see cref="ObjectBitmap.IndexOf"/>) of the object at preorder number <paramref name="vertex"/>; −1 for the virtual root.</summary>
    public long RankOf(int vertex) => _live.IndexOf(AddressOf(vertex));

    /// <summary>Type ids by preorder number (index into <see cref="TypeTable"/>, −1 when unreadable): one new int array.</summary>
    /// <remarks>The caller disposes it when done: in a scratch file when the pass is mapped.</remarks>
    public IntArray LoadTypeIds()
    {
        var types = _scratch.CreateArray("type-ids", VertexCount + 1);
        _scratch.ReadAll(PreorderGraph.TypesFile, types.Span);
        return types;
    }

    public void Dispose()
    {
        ImmediateDominator.Dispose();
        Retained.Dispose();
    }

    /// <summary>
    /// Each live object's preorder number by its dense number (from the recorded addresses), then the recorded
    /// references as predecessor lists in preorder numbers. The numbers are garbage when it returns.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static PredecessorBuckets ReverseEdges(PreorderGraph graph, ObjectBitmap live, CancellationToken cancellationToken)
    {
        if (live.Count != graph.VertexCount - 1)
        {
            throw new InvalidOperationException($"The mark pass numbered {graph.VertexCount - 1:N0} objects but marked {live.Count:N0}.");
        }

        using var numbers = graph.Scratch.CreateArray("preorder-number", live.Count);
        var number = numbers.Span;
        using (var addresses = graph.Scratch.OpenReader(PreorderGraph.AddressesFile))
        {
            // Entry 0 is unused and entry 1 is the virtual root.
            addresses.ReadLong();
            addresses.ReadLong();
            for (var vertex = Root + 1; vertex <= graph.VertexCount; vertex++)
            {
                var index = live.IndexOf((ulong)addresses.ReadLong());
                if (index < 0)
                {
                    throw new InvalidOperationException($"Vertex {vertex:N0} is not a marked object.");
                }

                number[(int)index] = vertex;
            }
        }

        return PredecessorBuckets.Write(graph, live, numbers, cancellationToken);
    }

    /// <summary>A full, compacting collection that also returns freed memory to the operating system.</summary>
    private static void ReleaseMemory() => GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);

    /// <summary>Children have larger preorder numbers than their dominator, so one backward sweep adds up subtrees.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static RetainedSizes SumRetainedSizes(IntArray dominators, int vertexCount, int pointerSize, ScratchSpace scratch)
    {
        var retained = new RetainedSizes(scratch.CreateArray("retained", vertexCount + 1), pointerSize);
        var idom = dominators.Span;
        using (var sizes = scratch.OpenReader(PreorderGraph.SizesFile))
        {
            for (var v = 0; v <= vertexCount; v++)
            {
                retained.Set(v, (uint)sizes.Read());
            }
        }

        scratch.Delete(PreorderGraph.SizesFile);
        for (var w = vertexCount; w >= 2; w--)
        {
            retained.Add(idom[w], retained[w]);
        }

        return retained;
    }
}
