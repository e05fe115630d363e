namespace HeapDiag.Analysis.Internal;

/// <summary>One object on a path from a root: its address, its type, and the field of the previous object that references it.</summary>
internal readonly record struct PathLink(ulong Address, HeapType? Type, string? FieldName)
{
    /// <summary>The type's name, or <see cref="HeapType.UnreadableName"/>.</summary>
    public string TypeName => Type?.Name ?? HeapType.UnreadableName;
}

/// <summary>A path from a GC root: the root, then the objects from the one the root references to the target.</summary>
internal sealed record RootPath(HeapRoot Root, IReadOnlyList<PathLink> Links);

/// <summary>
/// Breadth-first search from the GC roots, in their order (static fields first), until every target is reached:
/// the shortest reference path from a root to each target. Durable roots (static fields, handles) are searched
/// first and threads' stacks and the finalizer queue only for what those do not reach: a request that happens to be
/// working on a collection when the dump is taken holds it on its stack for a moment, but the collection lives
/// because of the durable path, and that path (and the fingerprint made from it) is the same in every dump.
/// </summary>
/// <remarks>
/// Each reached object's parent goes into an <c>int[]</c> indexed by the mark bitmap's dense numbering: 4 bytes per
/// live object, where a <c>Dictionary&lt;ulong, ulong&gt;</c> would cost ~30 bytes per reached object. The queue holds
/// objects that discovered children rather than the children: when such an object comes off the queue its
/// references are read again and the children it discovered are expanded in slot order, exactly the order a queue of
/// children would give, so one array of 24 M elements is one queue entry instead of 24 M.
/// </remarks>
internal sealed class ShortestPathSearch
{
    private const int CancellationCheckInterval = 100_000;
    private const int ArraySliceElements = 8192;

    private readonly LiveHeap _heap;
    private readonly ObjectBitmap _live;
    private readonly HeapObjects _objects;
    private readonly RootSet _roots;
    private readonly ulong[] _expanded;
    private readonly Queue<int> _discoverers = new();
    private readonly List<int> _children = [];
    private readonly HashSet<long> _remaining;
    private readonly CancellationToken _cancellationToken;
    private long _expansions;

    private ShortestPathSearch(LiveHeap heap, IEnumerable<long> targets, CancellationToken cancellationToken)
    {
        _heap = heap;
        _live = heap.Live;
        _objects = heap.Dump.Objects;
        _roots = heap.Roots;
        _expanded = new ulong[(_live.Count + 63) / 64];
        _remaining = [.. targets];
        _cancellationToken = cancellationToken;
        Parents = new int[checked((int)_live.Count)];
    }

    /// <summary>
    /// Per live object: 0 = not reached, &gt; 0 = dense number of the object that references it + 1,
    /// &lt; 0 = −(index of the root that references it + 1).
    /// </summary>
    private int[] Parents { get; }

    /// <summary>Searches until every target (dense numbers) is reached or nothing more can be.</summary>
    public static ShortestPathSearch Run(LiveHeap heap, IEnumerable<long> targets, CancellationToken cancellationToken)
    {
        var search = new ShortestPathSearch(heap, targets, cancellationToken);
        search.Run();
        return search;
    }

    /// <summary>The path to <paramref name="target"/> (a dense number), or null when no root reaches it.</summary>
    public RootPath? PathTo(long target)
    {
        if (Parents[target] == 0)
        {
            return null;
        }

        var chain = new List<long> { target };
        var link = Parents[target];
        while (link > 0)
        {
            chain.Add(link - 1);
            link = Parents[link - 1];
        }

        chain.Reverse();
        var links = new List<PathLink>(chain.Count);
        ulong previous = 0;
        HeapType? previousType = null;
        foreach (var index in chain)
        {
            var address = _live.AddressAt(index);
            var type = _objects.GetType(address);
            var field = previousType is null ? null : FieldNames.NameLink(_heap.Dump, previous, previousType, address);
            links.Add(new PathLink(address, type, field));
            previous = address;
            previousType = type;
        }

        return new RootPath(_roots.Roots[-link - 1], links);
    }

    private void Run()
    {
        Search(durable: true);
        Search(durable: false);
    }

    /// <summary>Marks the roots of one kind (durable, or stacks and the finalizer queue) as reached and searches on from them.</summary>
    private void Search(bool durable)
    {
        var roots = _roots.Roots;
        for (var r = 0; r < roots.Count && _remaining.Count > 0; r++)
        {
            var index = _live.IndexOf(roots[r].Object);
            if (IsDurable(roots[r]) == durable && index >= 0 && Parents[index] == 0)
            {
                Parents[index] = -(r + 1);
                _remaining.Remove(index);
            }
        }

        for (var r = 0; r < roots.Count && _remaining.Count > 0; r++)
        {
            var index = _live.IndexOf(roots[r].Object);
            if (IsDurable(roots[r]) == durable && index >= 0 && Parents[index] == -(r + 1))
            {
                Expand((int)index);
            }
        }

        while (_remaining.Count > 0 && _discoverers.TryDequeue(out var parent))
        {
            ExpandChildrenOf(parent);
        }
    }

    private static bool IsDurable(HeapRoot root) => root.Kind is not (RootKinds.Stack or RootKinds.FinalizerQueue);

    /// <summary>Expands, in slot order, the children <paramref name="parent"/> discovered.</summary>
    private void ExpandChildrenOf(int parent)
    {
        var address = _live.AddressAt(parent);
        if (_objects.GetType(address) is not { } type)
        {
            return;
        }

        var collector = new ChildCollector(_live, Parents, _children, parent);
        if (type.IsReferenceArray)
        {
            // Slice by slice, so the list of children stays small however long the array is.
            long length = _objects.GetComponentCount(address);
            for (long first = 0; first < length && _remaining.Count > 0; first += ArraySliceElements)
            {
                _children.Clear();
                _objects.VisitArrayElements(address, type, first, Math.Min(ArraySliceElements, length - first), ref collector);
                ExpandCollected();
            }

            _children.Clear();
            _objects.VisitLoaderAllocator(type, ref collector);
        }
        else
        {
            _children.Clear();
            _objects.VisitReferences(address, type, _objects.GetSize(address, type), ref collector);
        }

        _roots.VisitDependents(address, type, ref collector);
        ExpandCollected();
    }

    private void ExpandCollected()
    {
        foreach (var child in _children)
        {
            if (_remaining.Count == 0)
            {
                return;
            }

            Expand(child);
        }
    }

    /// <summary>Marks the unreached children of <paramref name="node"/> as reached through it; queues it if there were any.</summary>
    private void Expand(int node)
    {
        ref var word = ref _expanded[node / 64];
        var bit = 1UL << (node % 64);
        if ((word & bit) != 0)
        {
            return;
        }

        word |= bit;
        if (++_expansions % CancellationCheckInterval == 0)
        {
            _cancellationToken.ThrowIfCancellationRequested();
        }

        var address = _live.AddressAt(node);
        if (_objects.GetType(address) is not { } type)
        {
            return;
        }

        var discoverer = new Discoverer(_live, Parents, _remaining, node);
        _objects.VisitReferences(address, type, _objects.GetSize(address, type), ref discoverer);
        _roots.VisitDependents(address, type, ref discoverer);
        if (discoverer.Discovered > 0)
        {
            _discoverers.Enqueue(node);
        }
    }

    /// <summary>Records <c>parent</c> as the parent of every reference not reached yet.</summary>
    private struct Discoverer(ObjectBitmap live, int[] parents, HashSet<long> remaining, int parent) : IReferenceVisitor
    {
        public int Discovered { get; private set; }

        public bool Visit(ulong reference, int offset)
        {
            var index = live.IndexOf(reference);
            if (index < 0 || parents[index] != 0)
            {
                return true;
            }

            parents[index] = parent + 1;
            Discovered++;
            remaining.Remove(index);
            return remaining.Count > 0;
        }
    }

    /// <summary>Collects the references that <c>parent</c> discovered (their parent is <c>parent</c>).</summary>
    private readonly struct ChildCollector(ObjectBitmap live, int[] parents, List<int> children, int parent) : IReferenceVisitor
    {
        public bool Visit(ulong reference, int offset)
        {
            var index = live.IndexOf(reference);
            if (index >= 0 && parents[index] == parent + 1)
            {
                children.Add((int)index);
            }

            return true;
        }
    }
}
