using HeapDiag.Analysis.Internal.Dominators;

namespace HeapDiag.Analysis.Internal;

/// <summary>Is told about every live object once, as the mark pass reaches it.</summary>
internal interface ILiveObjectObserver
{
    void OnLiveObject(ulong address, HeapType type, ulong size);
}

/// <summary>
/// The mark pass: which objects are reachable from the GC roots, as the GC itself would decide if it ran now. A heap
/// dump also holds dead objects no GC has swept yet; marking gives live numbers without forcing a blocking GC in the
/// process that was dumped.
/// </summary>
/// <remarks>
/// <para>
/// A true depth-first search with an explicit stack (object graphs are millions deep along linked lists, far past any
/// thread's stack): an object is marked when the search descends into it, not when a reference to it is first seen,
/// so the order objects are marked in is a depth-first preorder and the object a reference to it was followed from is
/// its parent in a depth-first tree. With a <see cref="PreorderGraph"/> the pass records that numbering and every
/// reference as it goes, which is all the dominator tree needs: the dump is read once. A reference to an object not
/// marked yet is recorded only when it is popped and turns out to be marked by then; otherwise the search descends
/// through it and it is the new vertex's parent, which the graph has already (two thirds of a heap's references are
/// such tree edges, and recording each twice was most of what the dominator pass read back).
/// </para>
/// <para>
/// A reference to an object not yet marked is pushed even if it is already on the stack (the search descends from
/// the last one pushed, as a recursive search would); the copies left behind are skipped when popped. Large
/// reference arrays are scanned in slices, with the rest pushed back as a continuation below the slice's elements,
/// so one array of 24 M elements does not put 24 M entries on the stack at once. What the stack holds beyond a few
/// MiB goes to a scratch file (<see cref="MarkStack{T}"/>).
/// </para>
/// </remarks>
internal static class LiveObjectMarker
{
    private const int ArraySliceElements = 8192;
    private const int CancellationCheckInterval = 100_000;

    /// <summary>
    /// Sets the bit of every object reachable from <paramref name="roots"/> in <paramref name="live"/> (a fresh bitmap
    /// of the dump) and, with <paramref name="graph"/>, records the live graph in depth-first preorder. Returns the
    /// number of references that land in the heap, roots' included. A deep search's stack spills to <paramref name="scratch"/>,
    /// asked for when it first does.
    /// </summary>
    public static long Mark(
        DumpSession dump, RootSet roots, ObjectBitmap live, ILiveObjectObserver? observer, HeapIntegrity integrity, Func<ScratchSpace> scratch, PreorderGraph? graph, CancellationToken cancellationToken)
    {
        var objects = dump.Objects;
        using var pending = new MarkStack<PendingScan>(scratch);
        var visitor = new MarkVisitor(live, pending, integrity, graph) { Source = DominatorTree.Root };

        // Pushed in reverse so that the search starts from the first root (static fields first), as a recursive one would.
        for (var r = roots.Roots.Count - 1; r >= 0; r--)
        {
            visitor.Visit(roots.Roots[r].Object, 0);
        }

        long visited = 0;
        while (pending.TryPop(out var scan))
        {
            if (++visited % CancellationCheckInterval == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var address = scan.Address;
            long start = scan.NextElement;
            HeapType? type;
            if (start == 0)
            {
                if (!live.TrySet(address, out _))
                {
                    // Reached another way since it was pushed: this reference is not the tree edge after all.
                    graph?.AddEdge(scan.Vertex, address);
                    continue;
                }

                type = objects.GetType(address);
                if (type is null)
                {
                    integrity.Skip(address);
                    continue;
                }

                var size = objects.GetSize(address, type);
                if (!integrity.Accepts(address, size))
                {
                    continue;
                }

                observer?.OnLiveObject(address, type, size);
                visitor.Source = graph?.AddVertex(scan.Vertex, address, size, type) ?? 0;
                roots.VisitDependents(address, type, ref visitor);
                if (!type.IsReferenceArray)
                {
                    objects.VisitReferences(address, type, size, ref visitor);
                    continue;
                }

                objects.VisitLoaderAllocator(type, ref visitor);
            }
            else
            {
                type = objects.GetType(address)!;
                visitor.Source = scan.Vertex;
            }

            // Elements are pushed after the continuation, so they are searched before the rest of the array.
            long length = objects.GetComponentCount(address);
            var sliceEnd = Math.Min(length, start + ArraySliceElements);
            if (sliceEnd < length)
            {
                pending.Push(new PendingScan(address, visitor.Source, (int)sliceEnd));
            }

            objects.VisitArrayElements(address, type, start, sliceEnd - start, ref visitor);
        }

        return visitor.Edges;
    }

    /// <summary>
    /// An object to descend into from vertex <see cref="Vertex"/>; or, with <see cref="NextElement"/> above 0, the rest
    /// of a large reference array (vertex <see cref="Vertex"/>) from that element on.
    /// </summary>
    private readonly record struct PendingScan(ulong Address, int Vertex, int NextElement);

    private struct MarkVisitor(ObjectBitmap live, MarkStack<PendingScan> pending, HeapIntegrity integrity, PreorderGraph? graph) : IReferenceVisitor
    {
        /// <summary>References that land in the heap: the edges of the live object graph.</summary>
        public long Edges { get; private set; }

        /// <summary>The vertex whose references are being visited (with no graph, 0).</summary>
        public int Source { get; set; }

        public bool Visit(ulong reference, int offset)
        {
            if (!live.Contains(reference, out var inRange))
            {
                if (!inRange)
                {
                    integrity.Dropped();
                    return true;
                }

                pending.Push(new PendingScan(reference, Source, 0));
            }
            else
            {
                graph?.AddEdge(Source, reference);
            }

            Edges++;
            return true;
        }
    }
}
