using System.Diagnostics;
using System.Globalization;
using Microsoft.Diagnostics.Runtime;

namespace HeapDiag.Analysis.Internal;

/// <summary>
/// Shortest reference chains from GC roots to a sample of a type's live instances: mark pass (to count instances and
/// number live objects) → evenly spaced sample → breadth-first search from the roots → chains named by field.
/// </summary>
/// <remarks>
/// Memory is what bounds this on a large heap. Each reached object's parent goes into an <c>int[]</c> indexed by the
/// mark bitmap's dense numbering: 4 bytes per live object (96 MB for 24 M objects), where a
/// <c>Dictionary&lt;ulong, ulong&gt;</c> would cost ~30 bytes per reached object and, on a heap with one huge
/// collection, reach nearly all of them. The queue holds objects that discovered children rather than the children
/// (see <see cref="BreadthFirstSearch"/>), and the search stops as soon as every sampled instance has been reached.
/// </remarks>
internal static class RetainerSearch
{
    private const int CancellationCheckInterval = 100_000;
    private const string DependentHandleLink = "(dependent handle)";

    public static RetentionReport Find(DumpSession dump, string typeName, RetainerOptions options, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        var notes = new List<string>();

        RootSet roots = RootSet.Collect(dump, cancellationToken);
        ObjectBitmap live = dump.CreateObjectBitmap();
        LiveObjectMarker.Mark(dump, roots, live, new TypeCounter(), cancellationToken);

        HeapType[] targets = ResolveType(typeName, dump.Objects.KnownTypes.Where(t => t.LiveCount > 0));
        if (targets.Length == 0)
        {
            notes.Add($"No live object of a type named '{typeName}' is in this dump.");
            return new RetentionReport(dump.FileName, typeName, 0, 0, [], notes, stopwatch.ElapsedMilliseconds);
        }

        long instanceCount = targets.Sum(t => t.LiveCount);
        live.BuildIndex();
        long[] samples = ChooseSamples(dump, live, targets, instanceCount, Math.Max(1, options.SampleSize), cancellationToken);
        int[] parents = SearchBreadthFirst(dump, roots, live, samples, cancellationToken);

        var chains = new Dictionary<string, (RetentionPath Path, int Count)>(StringComparer.Ordinal);
        int unreached = 0;
        foreach (long sample in samples)
        {
            RetentionPath? path = DescribeChain(dump, roots, live, parents, sample);
            if (path is null)
            {
                unreached++;
                continue;
            }

            string key = string.Join('\u001F', [path.RootKind, path.Root, .. path.Steps.Select(s => $"{s.FieldName}\u001E{s.TypeName}")]);
            chains[key] = chains.TryGetValue(key, out var existing) ? (existing.Path, existing.Count + 1) : (path, 1);
        }

        var paths = chains.Values
            .OrderByDescending(c => c.Count)
            .ThenBy(c => c.Path.Steps.Count)
            .ThenBy(c => c.Path.Root, StringComparer.Ordinal)
            .Take(Math.Max(1, options.Top))
            .Select(c => c.Path with { Count = c.Count })
            .ToList();

        notes.Add("Each chain is the shortest path from a GC root to a sampled instance (breadth-first search); other, longer chains may hold the same instances too. Static fields are named Namespace.Type.Field.");
        if (samples.Length < instanceCount)
        {
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"Traced {samples.Length:N0} of {instanceCount:N0} live instances, spread evenly over the heap."));
        }

        if (chains.Count > paths.Count)
        {
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"{chains.Count:N0} distinct chains were found; the {paths.Count:N0} most common are listed."));
        }

        if (unreached > 0)
        {
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"{unreached:N0} sampled instances could not be traced back to a root."));
        }

        return new RetentionReport(dump.FileName, targets[0].Name, instanceCount, samples.Length, paths, notes, stopwatch.ElapsedMilliseconds);
    }

    /// <summary>
    /// The method tables a name means: exact full name first, else a unique suffix after a namespace or outer-type
    /// separator (<c>Order</c> for <c>MyApp.Order</c>), ignoring case only if nothing matches with case.
    /// </summary>
    internal static HeapType[] ResolveType(string typeName, IEnumerable<HeapType> liveTypes)
    {
        var candidates = liveTypes.ToList();
        foreach (StringComparison comparison in new[] { StringComparison.Ordinal, StringComparison.OrdinalIgnoreCase })
        {
            HeapType[] exact = [.. candidates.Where(t => string.Equals(t.Name, typeName, comparison))];
            if (exact.Length > 0)
            {
                return exact;
            }

            HeapType[] suffix = [.. candidates.Where(t =>
                t.Name.Length > typeName.Length
                && t.Name.EndsWith(typeName, comparison)
                && t.Name[t.Name.Length - typeName.Length - 1] is '.' or '+')];
            string[] names = [.. suffix.Select(t => t.Name).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
            if (names.Length == 1)
            {
                return suffix;
            }

            if (names.Length > 1)
            {
                throw new ArgumentException(
                    $"type name '{typeName}' is ambiguous; it could be {string.Join(", ", names.Take(10))}{(names.Length > 10 ? ", …" : string.Empty)}",
                    nameof(typeName));
            }
        }

        return [];
    }

    /// <summary>Dense numbers of up to <paramref name="sampleSize"/> instances, evenly spaced in address order.</summary>
    private static long[] ChooseSamples(
        DumpSession dump, ObjectBitmap live, HeapType[] targets, long instanceCount, int sampleSize, CancellationToken cancellationToken)
    {
        int count = (int)Math.Min(sampleSize, instanceCount);
        var samples = new List<long>(count);
        var targetTables = targets.Select(t => t.MethodTable).ToHashSet();
        long seen = 0;
        long index = -1;
        foreach (ulong address in live.EnumerateSet())
        {
            index++;
            if (index % CancellationCheckInterval == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            if (dump.Objects.GetType(address) is not { } type || !targetTables.Contains(type.MethodTable))
            {
                continue;
            }

            // Take the instance when it is the next of count evenly spaced positions among all instances.
            if (seen == samples.Count * instanceCount / count)
            {
                samples.Add(index);
                if (samples.Count == count)
                {
                    break;
                }
            }

            seen++;
        }

        return [.. samples];
    }

    /// <summary>
    /// Breadth-first from the roots in order (static fields first). Returns, per live object: 0 = not reached,
    /// &gt; 0 = dense number of the object that references it + 1, &lt; 0 = −(number of the root that references it + 1).
    /// </summary>
    private static int[] SearchBreadthFirst(DumpSession dump, RootSet roots, ObjectBitmap live, long[] samples, CancellationToken cancellationToken)
    {
        var search = new BreadthFirstSearch(dump, roots, live, samples, cancellationToken);
        search.Run();
        return search.Parents;
    }

    private static RetentionPath? DescribeChain(DumpSession dump, RootSet roots, ObjectBitmap live, int[] parents, long sample)
    {
        if (parents[sample] == 0)
        {
            return null;
        }

        var chain = new List<long> { sample };
        int link = parents[sample];
        while (link > 0)
        {
            chain.Add(link - 1);
            link = parents[link - 1];
        }

        chain.Reverse();
        HeapRoot root = roots.Roots[-link - 1];
        var steps = new List<RetentionStep>(chain.Count);
        ulong previous = 0;
        HeapType? previousType = null;
        foreach (long index in chain)
        {
            ulong address = live.AddressAt(index);
            HeapType? type = dump.Objects.GetType(address);
            string? field = previousType is null ? null : NameLink(dump, previous, previousType, address);
            steps.Add(new RetentionStep(type?.Name ?? "<unreadable object>", field));
            previous = address;
            previousType = type;
        }

        return new RetentionPath(1, root.Kind, root.Name, steps);
    }

    /// <summary>The field (or array element) of the object at <paramref name="from"/> that references <paramref name="to"/>.</summary>
    private static string NameLink(DumpSession dump, ulong from, HeapType fromType, ulong to)
    {
        // Every slot of a reference array has the same name; scanning a 24 M element array to find which one is wasted time.
        if (fromType.IsReferenceArray)
        {
            return "[]";
        }

        var finder = new SlotFinder(to);
        dump.Objects.VisitReferences(from, fromType, dump.Objects.GetSize(from, fromType), ref finder);
        if (finder.Offset == HeapObjects.LoaderAllocatorOffset)
        {
            return "(loader allocator)";
        }

        if (finder.Offset < 0)
        {
            return DependentHandleLink;
        }

        int pointerSize = dump.PointerSize;
        ClrType type = fromType.ClrType;
        if (fromType.IsArray)
        {
            if (type.ComponentType is not { } element || fromType.ComponentSize == 0)
            {
                return "[]";
            }

            int inElement = (int)((finder.Offset - fromType.ElementsOffset) % fromType.ComponentSize);
            return NameField(element.Fields, inElement, pointerSize) is { } inner ? "[]." + inner : "[]";
        }

        // Instance field offsets in ClrMD start after the method table pointer.
        return NameField(type.Fields, finder.Offset - pointerSize, pointerSize) ?? string.Create(CultureInfo.InvariantCulture, $"+0x{finder.Offset:x}");
    }

    /// <summary>Name of the field at <paramref name="offset"/>, descending into structs as <c>outer.inner</c>.</summary>
    private static string? NameField(IEnumerable<ClrInstanceField> fields, int offset, int pointerSize)
    {
        foreach (ClrInstanceField field in fields)
        {
            int size = field.IsObjectReference ? pointerSize : Math.Max(1, field.Size);
            if (offset < field.Offset || offset >= field.Offset + size)
            {
                continue;
            }

            if (field.IsObjectReference || field.Type is not { IsValueType: true } structType)
            {
                return field.Name;
            }

            string? inner = NameField(structType.Fields, offset - field.Offset, pointerSize);
            return inner is null ? field.Name : $"{field.Name}.{inner}";
        }

        return null;
    }

    /// <summary>Counts live objects per method table during the mark pass (on <see cref="HeapType.LiveCount"/>).</summary>
    private sealed class TypeCounter : ILiveObjectObserver
    {
        public void OnLiveObject(ulong address, HeapType type, ulong size) => type.LiveCount++;
    }

    /// <summary>
    /// Breadth-first search whose queue holds the objects that discovered children, not the children: when such an
    /// object comes off the queue its references are read again and the children it discovered are expanded in slot
    /// order, exactly the order a queue of children would give. One array of 24 M elements is then one queue entry
    /// instead of 24 M. Parents are kept in an <c>int[]</c> over the live objects' dense numbers.
    /// </summary>
    private sealed class BreadthFirstSearch(DumpSession dump, RootSet roots, ObjectBitmap live, long[] samples, CancellationToken cancellationToken)
    {
        private const int ArraySliceElements = 8192;

        private readonly HeapObjects _objects = dump.Objects;
        private readonly ulong[] _expanded = new ulong[(live.Count + 63) / 64];
        private readonly Queue<int> _discoverers = new();
        private readonly List<int> _children = [];
        private readonly HashSet<long> _samples = [.. samples];
        private long _expansions;

        public int[] Parents { get; } = new int[checked((int)live.Count)];

        private int Remaining => _samples.Count;

        public void Run()
        {
            for (int r = 0; r < roots.Roots.Count && Remaining > 0; r++)
            {
                long index = live.IndexOf(roots.Roots[r].Object);
                if (index >= 0 && Parents[index] == 0)
                {
                    Parents[index] = -(r + 1);
                    _samples.Remove(index);
                }
            }

            for (int r = 0; r < roots.Roots.Count && Remaining > 0; r++)
            {
                long index = live.IndexOf(roots.Roots[r].Object);
                if (index >= 0 && Parents[index] == -(r + 1))
                {
                    Expand((int)index);
                }
            }

            while (Remaining > 0 && _discoverers.TryDequeue(out int parent))
            {
                ExpandChildrenOf(parent);
            }
        }

        /// <summary>Expands, in slot order, the children <paramref name="parent"/> discovered.</summary>
        private void ExpandChildrenOf(int parent)
        {
            ulong address = live.AddressAt(parent);
            if (_objects.GetType(address) is not { } type)
            {
                return;
            }

            var collector = new ChildCollector(live, Parents, _children, parent);
            if (type.IsReferenceArray)
            {
                // Slice by slice, so the list of children stays small however long the array is.
                long length = _objects.GetComponentCount(address);
                for (long first = 0; first < length && Remaining > 0; first += ArraySliceElements)
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

            if (roots.Dependents.Count > 0 && roots.Dependents.TryGetValue(address, out ulong[]? secondaries))
            {
                foreach (ulong secondary in secondaries)
                {
                    collector.Visit(secondary, -1);
                }
            }

            ExpandCollected();
        }

        private void ExpandCollected()
        {
            foreach (int child in _children)
            {
                if (Remaining == 0)
                {
                    return;
                }

                Expand(child);
            }
        }

        /// <summary>Marks the unreached children of <paramref name="node"/> as reached through it; queues it if there were any.</summary>
        private void Expand(int node)
        {
            ref ulong word = ref _expanded[node / 64];
            ulong bit = 1UL << (node % 64);
            if ((word & bit) != 0)
            {
                return;
            }

            word |= bit;
            if (++_expansions % CancellationCheckInterval == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            ulong address = live.AddressAt(node);
            if (_objects.GetType(address) is not { } type)
            {
                return;
            }

            var discoverer = new Discoverer(live, Parents, _samples, node);
            _objects.VisitReferences(address, type, _objects.GetSize(address, type), ref discoverer);
            if (roots.Dependents.Count > 0 && roots.Dependents.TryGetValue(address, out ulong[]? secondaries))
            {
                foreach (ulong secondary in secondaries)
                {
                    discoverer.Visit(secondary, -1);
                }
            }

            if (discoverer.Discovered > 0)
            {
                _discoverers.Enqueue(node);
            }
        }
    }

    /// <summary>Records <c>parent</c> as the parent of every reference not reached yet.</summary>
    private struct Discoverer(ObjectBitmap live, int[] parents, HashSet<long> samplesLeft, int parent) : IReferenceVisitor
    {
        public int Discovered { get; private set; }

        public bool Visit(ulong reference, int offset)
        {
            long index = live.IndexOf(reference);
            if (index < 0 || parents[index] != 0)
            {
                return true;
            }

            parents[index] = parent + 1;
            Discovered++;
            samplesLeft.Remove(index);
            return samplesLeft.Count > 0;
        }
    }

    /// <summary>Collects the references that <c>parent</c> discovered (their parent is <c>parent</c>).</summary>
    private readonly struct ChildCollector(ObjectBitmap live, int[] parents, List<int> children, int parent) : IReferenceVisitor
    {
        public bool Visit(ulong reference, int offset)
        {
            long index = live.IndexOf(reference);
            if (index >= 0 && parents[index] == parent + 1)
            {
                children.Add((int)index);
            }

            return true;
        }
    }

    private struct SlotFinder(ulong target) : IReferenceVisitor
    {
        public int Offset { get; private set; } = -1;

        public bool Visit(ulong reference, int offset)
        {
            if (reference != target)
            {
                return true;
            }

            Offset = offset;
            return false;
        }
    }
}
