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
/// Depth-first with an explicit stack (object graphs are millions deep along linked lists, far past any thread's
/// stack). An object is marked when it is pushed, so it is pushed once. Large reference arrays are scanned in slices,
/// with the rest pushed back as a continuation, so one array of 24 M elements does not put 24 M entries on the stack
/// at once.
/// </remarks>
internal static class LiveObjectMarker
{
    private const int ArraySliceElements = 8192;
    private const int CancellationCheckInterval = 100_000;

    /// <summary>
    /// Sets the bit of every object reachable from <paramref name="roots"/> in <paramref name="live"/> (a fresh bitmap
    /// of the dump). Returns the number of references between live objects, roots' included: the size of the object
    /// graph a later pass builds, so it can be allocated exactly once.
    /// </summary>
    public static long Mark(DumpSession dump, RootSet roots, ObjectBitmap live, ILiveObjectObserver? observer, HeapIntegrity integrity, CancellationToken cancellationToken)
    {
        var objects = dump.Objects;
        var pending = new Stack<PendingScan>();
        var visitor = new MarkVisitor(live, pending, integrity);

        foreach (var root in roots.Roots)
        {
            visitor.Visit(root.Object, 0);
        }

        long visited = 0;
        while (pending.TryPop(out var scan))
        {
            if (++visited % CancellationCheckInterval == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var address = scan.Address;
            var type = objects.GetType(address);
            if (type is null)
            {
                integrity.Skip(address);
                continue;
            }

            if (scan.NextElement == 0)
            {
                var size = objects.GetSize(address, type);
                if (!integrity.Accepts(address, size))
                {
                    continue;
                }

                observer?.OnLiveObject(address, type, size);
                roots.VisitDependents(address, ref visitor);

                if (!type.IsReferenceArray)
                {
                    objects.VisitReferences(address, type, size, ref visitor);
                    continue;
                }

                objects.VisitLoaderAllocator(type, ref visitor);
            }

            long length = objects.GetComponentCount(address);
            var sliceEnd = Math.Min(length, scan.NextElement + ArraySliceElements);
            if (sliceEnd < length)
            {
                pending.Push(new PendingScan(address, sliceEnd));
            }

            objects.VisitArrayElements(address, type, scan.NextElement, sliceEnd - scan.NextElement, ref visitor);
        }

        return visitor.Edges;
    }

    /// <summary>An object to scan; for a large reference array being scanned in slices, the first element still to scan.</summary>
    private readonly record struct PendingScan(ulong Address, long NextElement);

    private struct MarkVisitor(ObjectBitmap live, Stack<PendingScan> pending, HeapIntegrity integrity) : IReferenceVisitor
    {
        /// <summary>References that land in the heap: the edges of the live object graph.</summary>
        public long Edges { get; private set; }

        public bool Visit(ulong reference, int offset)
        {
            if (live.TrySet(reference, out var inRange))
            {
                pending.Push(new PendingScan(reference, 0));
            }

            if (inRange)
            {
                Edges++;
            }
            else
            {
                integrity.Dropped();
            }

            return true;
        }
    }
}
