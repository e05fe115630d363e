using System.Runtime.CompilerServices;

namespace HeapDiag.Analysis.Internal.Dominators;

/// <summary>
/// The dominator tree of the live object graph: object A dominates B when every path from the GC roots to B passes
/// through A, so B dies when A does. The retained size of A is the size of everything A dominates, A included.
/// </summary>
/// <remarks>
/// <para>
/// Vertices are numbered in depth-first preorder from a virtual root above every GC root: 1 is the virtual root, 2 …
/// <see cref="VertexCount"/> are live objects; a dominator always has a smaller number than what it dominates.
/// Lengauer–Tarjan semidominators, then the SEMI-NCA step (Georgiadis), all iterative: heap graphs are far deeper
/// than any call stack.
/// </para>
/// <para>
/// Memory is what bounds this on a large heap, so at no point are more than a few int arrays in memory: the
/// forward graph and the preorder numbers for the depth-first search (4 bytes per object, 4 per reference, 4 per
/// object); then the three Lengauer–Tarjan arrays (12 bytes per object); then the dominators and retained sizes
/// (12 bytes per object). Everything read back once in order — DFS parents, sizes and types in preorder, the
/// predecessor lists sorted by target in buckets — goes through scratch files instead.
/// </para>
/// </remarks>
internal sealed class DominatorTree
{
    public const string NodesFile = "node.pre";
    public const string TypesFile = "types.pre";

    private const string ParentsFile = "parent.pre";
    private const string SizesFile = "sizes.pre";
    private const int CancellationCheckInterval = 1 << 20;

    /// <summary>A predecessor bucket of at most this many bytes is sorted in memory at a time.</summary>
    private const long PredecessorBucketBytes = 32L << 20;
    private const int MaxBuckets = 256;

    private readonly ScratchSpace _scratch;

    private DominatorTree(ScratchSpace scratch, int vertexCount, int[] immediateDominator, RetainedSizes retained, IReadOnlyList<HeapType> typeTable)
    {
        _scratch = scratch;
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
    public int[] ImmediateDominator { get; }

    /// <summary>Retained bytes by preorder number; the virtual root's is all live bytes.</summary>
    public RetainedSizes Retained { get; }

    /// <summary>What the ids of <see cref="LoadTypeIds"/> index.</summary>
    public IReadOnlyList<HeapType> TypeTable { get; }

    /// <summary>
    /// The most memory the computation holds at once beyond what the mark pass already holds, for
    /// <paramref name="liveObjects"/> objects joined by <paramref name="edges"/> references.
    /// </summary>
    public static long PeakBytes(long liveObjects, long edges)
    {
        long vertices = liveObjects + 2;
        long graphAndSearch = ObjectGraph.ArrayBytes(liveObjects, edges) + (vertices * sizeof(int)) + (8L << 20);
        long semidominators = (3 * vertices * sizeof(int)) + PredecessorBucketBytes;
        long result = 2 * vertices * sizeof(int);

        // The suspects and type totals afterwards add one int array (types, then the BFS parents) to the result.
        long afterwards = result + (vertices * sizeof(int));
        return Math.Max(Math.Max(graphAndSearch, semidominators), afterwards);
    }

    /// <summary>Bytes of scratch files the computation writes at most.</summary>
    public static long ScratchBytes(long liveObjects, long edges) => ((liveObjects + 2) * 6 * sizeof(int)) + (edges * 2 * sizeof(int));

    /// <remarks>
    /// Each phase is a method of its own and compiled fully optimized from the start, so that an array is collectable
    /// as soon as its phase is done (unoptimized code keeps temporaries alive to the end of the method), and the
    /// collection between phases gives the memory back to the operating system.
    /// </remarks>
    /// <param name="buildGraph">Builds the object graph (<see cref="ObjectGraph.Build"/>); called once, and the graph is let go before the dominators are computed.</param>
    /// <param name="pointerSize">Pointer size of the dumped process: every object size is a multiple of it.</param>
    /// <param name="scratch">Where the intermediate files go.</param>
    /// <param name="cancellationToken">Checked about every million vertices.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static DominatorTree Compute(Func<ObjectGraph> buildGraph, int pointerSize, ScratchSpace scratch, CancellationToken cancellationToken)
    {
        (int vertexCount, PredecessorBuckets buckets, IReadOnlyList<HeapType> typeTable) = NumberAndReverse(buildGraph, scratch, cancellationToken);
        ReleaseMemory();
        int[] idom = ComputeDominators(buckets, vertexCount, scratch, cancellationToken);
        ReleaseMemory();
        RetainedSizes retained = SumRetainedSizes(idom, vertexCount, pointerSize, scratch);
        return new DominatorTree(scratch, vertexCount, idom, retained, typeTable);
    }

    /// <summary>The dense number (<see cref="ObjectBitmap.IndexOf"/>) of the object at preorder number <paramref name="vertex"/>; −1 for the virtual root.</summary>
    public long RankOf(int vertex) => _scratch.ReadAt(NodesFile, vertex) - 1L;

    /// <summary>Type ids by preorder number (index into <see cref="TypeTable"/>, −1 when unreadable): one new int array.</summary>
    public int[] LoadTypeIds()
    {
        var types = new int[VertexCount + 1];
        _scratch.ReadAll(TypesFile, types);
        return types;
    }

    /// <summary>
    /// Builds the forward graph, numbers it depth-first, spills the reversed graph to bucket files, then (with the
    /// graph gone) rewrites the sizes and types in preorder. Everything it allocates is garbage when it returns.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (int VertexCount, PredecessorBuckets Buckets, IReadOnlyList<HeapType> TypeTable) NumberAndReverse(
        Func<ObjectGraph> buildGraph, ScratchSpace scratch, CancellationToken cancellationToken)
    {
        ObjectGraph graph = buildGraph();
        int[] number = new int[graph.NodeCount];
        int vertexCount = NumberDepthFirst(graph, number, scratch, cancellationToken);
        PredecessorBuckets buckets = PredecessorBuckets.Write(graph, number, vertexCount, scratch, cancellationToken);
        IReadOnlyList<HeapType> typeTable = graph.TypeTable;
        graph = null!;
        ReleaseMemory();
        ReorderToPreorder(scratch, number, vertexCount);
        return (vertexCount, buckets, typeTable);
    }

    /// <summary>Semidominators, then immediate dominators in the ancestor array; only that array outlives the call.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int[] ComputeDominators(PredecessorBuckets buckets, int vertexCount, ScratchSpace scratch, CancellationToken cancellationToken)
    {
        int[] semi = ComputeSemidominators(buckets, vertexCount, scratch, out int[] idom, cancellationToken);
        ComputeImmediateDominators(semi, idom, scratch);
        return idom;
    }

    /// <summary>A full, compacting collection that also returns freed memory to the operating system.</summary>
    private static void ReleaseMemory() => GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);

    /// <summary>
    /// Depth-first preorder from node 0 (the virtual root). Writes each vertex's DFS parent and node, in preorder, to
    /// scratch; fills <paramref name="number"/> (node → preorder number, 0 = not reached); returns the vertex count.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int NumberDepthFirst(ObjectGraph graph, int[] number, ScratchSpace scratch, CancellationToken cancellationToken)
    {
        using IntFileWriter parents = scratch.CreateWriter(ParentsFile);
        using IntFileWriter nodes = scratch.CreateWriter(NodesFile);
        int[] firstTarget = graph.FirstTarget;
        int[] targets = graph.Targets;

        // Index 0 of both files is unused, so that entry v belongs to preorder number v.
        parents.Write(0);
        nodes.Write(0);
        var stack = new DepthFirstStack();
        int counter = 1;
        number[0] = 1;
        parents.Write(0);
        nodes.Write(0);
        stack.Push(0, firstTarget[0]);
        while (stack.Count > 0)
        {
            ref int nextEdge = ref stack.TopEdge;
            int node = stack.TopNode;
            int end = firstTarget[node + 1];
            int edge = nextEdge;
            while (edge < end && number[targets[edge]] != 0)
            {
                edge++;
            }

            if (edge == end)
            {
                stack.Pop();
                continue;
            }

            nextEdge = edge + 1;
            int child = targets[edge];
            number[child] = ++counter;
            parents.Write(number[node]);
            nodes.Write(child);
            stack.Push(child, firstTarget[child]);
            if ((counter & (CancellationCheckInterval - 1)) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }
        }

        return counter;
    }

    /// <summary>Rewrites the sizes and types, written in node order, in preorder (entry v = vertex v), through one buffer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ReorderToPreorder(ScratchSpace scratch, int[] number, int vertexCount)
    {
        var byVertex = new int[vertexCount + 1];
        foreach ((string nodeOrder, string preorder) in new[] { (ObjectGraph.SizesFile, SizesFile), (ObjectGraph.TypesFile, TypesFile) })
        {
            using (IntFileReader reader = scratch.OpenReader(nodeOrder))
            {
                for (int node = 0; node < number.Length; node++)
                {
                    int value = reader.Read();
                    if (number[node] != 0)
                    {
                        byVertex[number[node]] = value;
                    }
                }
            }

            scratch.Delete(nodeOrder);
            using IntFileWriter writer = scratch.CreateWriter(preorder);
            foreach (int value in byVertex)
            {
                writer.Write(value);
            }
        }
    }

    /// <summary>
    /// Lengauer–Tarjan semidominators with path compression, vertices in decreasing preorder, each with its
    /// predecessors from the bucket files. A vertex is linked to its DFS parent once processed, so "linked" is simply
    /// "numbered above the vertex being processed": the ancestor array can start as a copy of the parents. Returns
    /// the semidominators; <paramref name="ancestor"/> is handed out for reuse as the dominator array.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int[] ComputeSemidominators(PredecessorBuckets buckets, int vertexCount, ScratchSpace scratch, out int[] ancestor, CancellationToken cancellationToken)
    {
        var semi = new int[vertexCount + 1];
        var label = new int[vertexCount + 1];
        ancestor = new int[vertexCount + 1];
        scratch.ReadAll(ParentsFile, ancestor);
        for (int v = 1; v <= vertexCount; v++)
        {
            semi[v] = v;
            label[v] = v;
        }

        var path = new Stack<int>();
        for (int bucket = buckets.Count - 1; bucket >= 0; bucket--)
        {
            cancellationToken.ThrowIfCancellationRequested();
            (int first, int last, int[] offsets, int[] sources) = buckets.Load(bucket);
            for (int w = last; w >= Math.Max(first, 2); w--)
            {
                for (int p = offsets[w - first]; p < offsets[w - first + 1]; p++)
                {
                    int u = Evaluate(sources[p], w, ancestor, label, semi, path);
                    if (semi[u] < semi[w])
                    {
                        semi[w] = semi[u];
                    }
                }
            }
        }

        buckets.ReleaseBuffers();
        return semi;
    }

    /// <summary>
    /// The vertex with the smallest semidominator on the forest path above <paramref name="v"/>, compressing the path.
    /// Vertices numbered above <paramref name="current"/> are the linked ones.
    /// </summary>
    private static int Evaluate(int v, int current, int[] ancestor, int[] label, int[] semi, Stack<int> path)
    {
        if (v <= current)
        {
            return v;
        }

        int x = v;
        while (ancestor[x] > current)
        {
            path.Push(x);
            x = ancestor[x];
        }

        while (path.TryPop(out int y))
        {
            int a = ancestor[y];
            if (semi[label[a]] < semi[label[y]])
            {
                label[y] = label[a];
            }

            ancestor[y] = ancestor[a];
        }

        return label[v];
    }

    /// <summary>SEMI-NCA: in increasing preorder, climb from the DFS parent while above the semidominator.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ComputeImmediateDominators(int[] semi, int[] idom, ScratchSpace scratch)
    {
        using IntFileReader parents = scratch.OpenReader(ParentsFile);
        parents.Read();
        parents.Read();
        idom[Root] = 0;
        for (int w = 2; w < idom.Length; w++)
        {
            int candidate = parents.Read();
            while (candidate > semi[w])
            {
                candidate = idom[candidate];
            }

            idom[w] = candidate;
        }

        scratch.Delete(ParentsFile);
    }

    /// <summary>Children have larger preorder numbers than their dominator, so one backward sweep adds up subtrees.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static RetainedSizes SumRetainedSizes(int[] idom, int vertexCount, int pointerSize, ScratchSpace scratch)
    {
        var retained = new RetainedSizes(vertexCount + 1, pointerSize);
        using (IntFileReader sizes = scratch.OpenReader(SizesFile))
        {
            for (int v = 0; v <= vertexCount; v++)
            {
                retained.Set(v, (uint)sizes.Read());
            }
        }

        scratch.Delete(SizesFile);
        for (int w = vertexCount; w >= 2; w--)
        {
            retained.Add(idom[w], retained[w]);
        }

        return retained;
    }

    /// <summary>
    /// The DFS stack as two growing int arrays (node, next edge to try): a million-deep linked list costs 8 MB here,
    /// where a stack of tuples in a <c>Stack&lt;T&gt;</c> would cost the same plus its doubling copies.
    /// </summary>
    private sealed class DepthFirstStack
    {
        private int[] _nodes = new int[4096];
        private int[] _edges = new int[4096];

        public int Count { get; private set; }

        public int TopNode => _nodes[Count - 1];

        public ref int TopEdge => ref _edges[Count - 1];

        public void Push(int node, int edge)
        {
            if (Count == _nodes.Length)
            {
                Array.Resize(ref _nodes, _nodes.Length * 2);
                Array.Resize(ref _edges, _edges.Length * 2);
            }

            _nodes[Count] = node;
            _edges[Count] = edge;
            Count++;
        }

        public void Pop() => Count--;
    }

    /// <summary>
    /// The reversed graph in preorder numbers, spilled to bucket files by target range: (target, source) pairs,
    /// loaded one bucket at a time and sorted by target with a counting sort.
    /// </summary>
    private sealed class PredecessorBuckets
    {
        private readonly ScratchSpace _scratch;
        private readonly int _span;
        private readonly int _vertexCount;
        private int[]? _offsets;
        private int[]? _sources;

        private PredecessorBuckets(ScratchSpace scratch, int count, int span, int vertexCount)
        {
            _scratch = scratch;
            Count = count;
            _span = span;
            _vertexCount = vertexCount;
        }

        public int Count { get; }

        public static PredecessorBuckets Write(ObjectGraph graph, int[] number, int vertexCount, ScratchSpace scratch, CancellationToken cancellationToken)
        {
            long edges = graph.FirstTarget[graph.NodeCount];
            int count = (int)Math.Clamp((edges * 2 * sizeof(int) / PredecessorBucketBytes) + 1, 1, MaxBuckets);
            int span = (int)(((long)vertexCount + count - 1) / count);
            var writers = new IntFileWriter[count];
            try
            {
                for (int b = 0; b < count; b++)
                {
                    writers[b] = new IntFileWriter(scratch.PathOf(FileName(b)), bufferInts: count > 16 ? 16 * 1024 : 64 * 1024);
                }

                for (int node = 0; node < graph.NodeCount; node++)
                {
                    int source = number[node];
                    if (source == 0)
                    {
                        continue;
                    }

                    if ((node & (CancellationCheckInterval - 1)) == 0)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                    }

                    for (int e = graph.FirstTarget[node]; e < graph.FirstTarget[node + 1]; e++)
                    {
                        int target = number[graph.Targets[e]];
                        if (target > Root && target != source)
                        {
                            IntFileWriter writer = writers[(target - 1) / span];
                            writer.Write(target);
                            writer.Write(source);
                        }
                    }
                }
            }
            finally
            {
                foreach (IntFileWriter? writer in writers)
                {
                    writer?.Dispose();
                }
            }

            return new PredecessorBuckets(scratch, count, span, vertexCount);
        }

        /// <summary>
        /// Bucket <paramref name="bucket"/>: its vertex range and, per vertex v, sources[offsets[v − first] .. offsets[v − first + 1]).
        /// The arrays are reused from bucket to bucket (grown when a bucket is larger), so loading all of them
        /// leaves no garbage behind.
        /// </summary>
        public (int First, int Last, int[] Offsets, int[] Sources) Load(int bucket)
        {
            int first = (bucket * _span) + 1;
            int last = Math.Min(_vertexCount, first + _span - 1);
            int[] offsets = _offsets ??= new int[_span + 1];
            Array.Clear(offsets);
            int pairs = 0;
            using (IntFileReader reader = _scratch.OpenReader(FileName(bucket)))
            {
                while (reader.TryRead(out int target))
                {
                    reader.Read();
                    offsets[target - first]++;
                    pairs++;
                }
            }

            // Counts to end offsets; filling backwards turns each into its start.
            for (int i = 1; i < offsets.Length; i++)
            {
                offsets[i] += offsets[i - 1];
            }

            if (_sources is null || _sources.Length < pairs)
            {
                _sources = null;
                _sources = new int[pairs];
            }

            int[] sources = _sources;
            using (IntFileReader reader = _scratch.OpenReader(FileName(bucket)))
            {
                while (reader.TryRead(out int target))
                {
                    sources[--offsets[target - first]] = reader.Read();
                }
            }

            _scratch.Delete(FileName(bucket));
            return (first, last, offsets, sources);
        }

        /// <summary>Lets the buffers go once the last bucket has been used.</summary>
        public void ReleaseBuffers()
        {
            _offsets = null;
            _sources = null;
        }

        private static string FileName(int bucket) => $"preds.{bucket}";
    }
}
