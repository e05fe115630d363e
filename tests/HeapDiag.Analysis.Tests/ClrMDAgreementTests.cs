using HeapDiag.Analysis.Internal;
using HeapDiag.Analysis.Internal.Dominators;
using Microsoft.Diagnostics.Runtime;
using Microsoft.Diagnostics.Runtime.AbstractDac;

namespace HeapDiag.Analysis.Tests;

/// <summary>
/// The analysis reads objects itself (cached pages, its own GC descriptor walk) for speed. These tests hold it to
/// ClrMD's answers on every object of a real dump.
/// </summary>
[Collection(TargetDumpsCollection.Name)]
public sealed class ClrMDAgreementTests(TargetDumps dumps)
{
    [Fact]
    public void Sizes_and_references_match_ClrMD_for_every_object_in_the_heap()
    {
        using var dump = DumpSession.Open(dumps.BeforePath);
        var compared = 0;
        foreach (var obj in dump.Heap.EnumerateObjects())
        {
            if (obj.Type is null || obj.Type.IsFree)
            {
                continue;
            }

            var type = dump.Objects.GetType(obj.Address)!;
            var size = dump.Objects.GetSize(obj.Address, type);
            Assert.Equal(obj.Type.Name, type.Name);
            Assert.True(((obj.Size + 7) & ~7UL) == size, $"{type.Name} base {type.BaseSize} component {type.ComponentSize} count {dump.Objects.GetComponentCount(obj.Address)}: ClrMD {obj.Size}, ours {size}");

            var ours = new List<ulong>();
            var collector = new Collector(ours);
            dump.Objects.VisitReferences(obj.Address, type, size, ref collector);
            Assert.Equal(obj.EnumerateReferenceAddresses(carefully: false, considerDependantHandles: false).ToList(), ours);
            compared++;
        }

        Assert.True(compared > 1000, $"only {compared} objects compared");
    }

    [Fact]
    public void The_mark_pass_reaches_what_a_plain_ClrMD_traversal_reaches()
    {
        using var dump = DumpSession.Open(dumps.BeforePath);
        using var scratch = ScratchSpace.Create(null);
        var roots = RootSet.Collect(dump, CancellationToken.None);
        var live = dump.CreateObjectBitmap();
        var integrity = new HeapIntegrity(dump.Segments, dump.PointerSize);
        var edges = LiveObjectMarker.Mark(dump, roots, live, observer: null, integrity, () => scratch, graph: null, CancellationToken.None);
        Assert.Equal(0, integrity.ReferencesDropped);

        // The straightforward way: ClrMD's roots, a HashSet and ClrMD's reference enumeration with dependent handles.
        var reached = new HashSet<ulong>();
        var pending = new Stack<ulong>();
        foreach (var root in dump.Heap.EnumerateRoots())
        {
            if (!root.Object.IsNull && reached.Add(root.Object.Address))
            {
                pending.Push(root.Object.Address);
            }
        }

        // ClrMD's roots leave out thread statics on .NET 10 (the GC scans them with each thread): add each live
        // thread's value of each [ThreadStatic] reference field, read with ClrMD.
        foreach (var value in ThreadStaticValues(dump))
        {
            if (reached.Add(value))
            {
                pending.Push(value);
            }
        }

        while (pending.TryPop(out var address))
        {
            foreach (var reference in dump.Heap.GetObject(address).EnumerateReferenceAddresses(carefully: false, considerDependantHandles: true))
            {
                if (reached.Add(reference))
                {
                    pending.Push(reference);
                }
            }
        }

        Assert.Equal(reached.Order(), live.EnumerateSet());
        Assert.True(edges >= live.Count, $"{edges} references for {live.Count} live objects");
    }

    /// <summary>
    /// The passes look an object up among the dependent handles' primaries only when its type is flagged as a
    /// primary's: every primary's type must be, or its secondaries would be left unmarked.
    /// </summary>
    [Fact]
    public void The_type_of_every_dependent_handles_primary_is_flagged_and_no_other()
    {
        using var dump = DumpSession.Open(dumps.BeforePath);
        RootSet.Collect(dump, CancellationToken.None);
        var primaries = dump.Runtime.EnumerateHandles()
            .Where(h => h.HandleKind == ClrHandleKind.Dependent && !h.Object.IsNull && !h.Dependent.IsNull)
            .Select(h => h.Object.Address)
            .ToList();
        Assert.NotEmpty(primaries);

        var primaryTypes = primaries.Select(p => dump.Objects.GetType(p)!).ToHashSet();
        Assert.All(primaryTypes, type => Assert.True(type.HasDependentHandlePrimaries, type.Name));
        Assert.All(dump.Objects.Types.Except(primaryTypes), type => Assert.False(type.HasDependentHandlePrimaries, type.Name));
    }

    /// <summary>
    /// Lengauer–Tarjan is only right on a depth-first tree: every reference from a lower preorder number to a higher one
    /// must come from an ancestor, and each vertex's parent must reference it. Checked on every recorded reference.
    /// </summary>
    [Fact]
    public void The_mark_pass_records_the_live_graph_in_a_depth_first_preorder()
    {
        using var dump = DumpSession.Open(dumps.BeforePath);
        using var scratch = ScratchSpace.Create(null);
        var live = dump.CreateObjectBitmap();
        var graph = new PreorderGraph(scratch, dump.Objects.Types);
        var roots = RootSet.Collect(dump, CancellationToken.None);
        LiveObjectMarker.Mark(dump, roots, live, observer: null, new HeapIntegrity(dump.Segments, dump.PointerSize), () => scratch, graph, CancellationToken.None);
        graph.Complete();

        var vertices = graph.VertexCount;
        Assert.Equal(live.Count, vertices - 1);
        var parents = new int[vertices + 1];
        scratch.ReadAll(PreorderGraph.ParentsFile, parents);
        var vertexAt = new Dictionary<ulong, int>();
        using (var addresses = scratch.OpenReader(PreorderGraph.AddressesFile))
        {
            for (var vertex = 0; vertex <= vertices; vertex++)
            {
                var address = (ulong)addresses.ReadLong();
                if (vertex > DominatorTree.Root)
                {
                    vertexAt.Add(address, vertex);
                }
            }
        }

        // In preorder a vertex's subtree is the numbers from it to its last descendant.
        var lastDescendant = Enumerable.Range(0, vertices + 1).ToArray();
        for (var vertex = vertices; vertex > DominatorTree.Root; vertex--)
        {
            Assert.InRange(parents[vertex], DominatorTree.Root, vertex - 1);
            lastDescendant[parents[vertex]] = Math.Max(lastDescendant[parents[vertex]], lastDescendant[vertex]);
        }

        using (var edges = scratch.OpenReader(PreorderGraph.EdgesFile))
        {
            while (edges.TryRead(out var source))
            {
                var target = vertexAt[(ulong)edges.ReadLong()];
                Assert.True(target <= source || target <= lastDescendant[source], $"reference {source} → {target} leaves the subtree of {source}");
            }
        }

        // The tree edges are not recorded as references: each vertex's parent is a root above it or an object that references it.
        var addressOf = vertexAt.ToDictionary(entry => entry.Value, entry => entry.Key);
        var rootObjects = roots.Roots.Select(root => root.Object).ToHashSet();
        for (var vertex = DominatorTree.Root + 1; vertex <= vertices; vertex++)
        {
            var parent = parents[vertex];
            var referenced = parent == DominatorTree.Root
                ? rootObjects
                : dump.Heap.GetObject(addressOf[parent]).EnumerateReferenceAddresses(carefully: false, considerDependantHandles: true).ToHashSet();
            Assert.Contains(addressOf[vertex], referenced);
        }
    }

    [Fact]
    public void Each_segment_counted_from_the_mapped_dump_matches_ClrMDs_walk_of_it()
    {
        using var dump = DumpSession.Open(dumps.BeforePath);
        Assert.NotNull(dump.Mapped);
        var walk = new SegmentWalk(dump.Heap, dump.Mapped, dump.PointerSize);
        var counted = 0L;
        foreach (var segment in dump.Heap.Segments)
        {
            Assert.True(walk.TryCount(segment, out var totals, out _, CancellationToken.None), $"{segment.Kind} segment at {segment.Start:x} was not walked");
            var objects = dump.Heap.EnumerateObjects(segment.ObjectRange, carefully: false).Where(o => !o.Type!.IsFree).ToList();
            Assert.Equal(new HeapTotals(objects.Count, objects.Sum(o => (long)((o.Size + 7) & ~7UL))), totals);
            counted += totals.Objects;
        }

        Assert.True(counted > 1000, $"only {counted} objects counted");
    }

    [Fact]
    public void The_whole_heap_count_equals_ClrMDs_walk()
    {
        using var dump = DumpSession.Open(dumps.BeforePath);
        Assert.Equal(CountWholeHeap(dump, clrmdOnly: true), CountWholeHeap(dump, clrmdOnly: false));
    }

    [Fact]
    public void The_handles_read_by_a_library_instance_of_their_own_are_ClrMDs_handles()
    {
        using var dump = DumpSession.Open(dumps.BeforePath);
        Assert.NotNull(dump.DacPath);
        var ours = dump.EnumerateHandles().Select(Entry).ToList();
        var clrmd = ClrMDHandles(dump).ToList();
        Assert.Equal(clrmd, ours);
        Assert.Contains(ours, h => h.Kind == ClrHandleKind.Strong);
        Assert.Contains(ours, h => h.Kind == ClrHandleKind.WeakShort);
        Assert.Contains(ours, h => h.Kind == ClrHandleKind.Dependent);
    }

    [Fact]
    public void The_library_lists_only_the_kinds_asked_for_through_its_own_interface_and_they_are_ClrMDs()
    {
        using var dump = DumpSession.Open(dumps.BeforePath);
        ClrHandleKind[] kinds = [ClrHandleKind.Strong, ClrHandleKind.Pinned, ClrHandleKind.Dependent];
        var services = DataTarget.CreateDacServices(dump.Runtime.ClrInfo, dump.DacPath!);
        try
        {
            // The fast path itself, not the fallback to ClrMD's list that DumpSession takes when it is not found.
            var runtime = (IAbstractRuntime)services.GetService(typeof(IAbstractRuntime))!;
            var ours = DacHandleEnumerator.TryEnumerate(runtime, dump.Runtime.DataTarget.DataReader, kinds);
            Assert.NotNull(ours);
            var expected = ClrMDHandles(dump).Where(h => kinds.Contains(h.Kind)).OrderBy(h => h.Address).ToList();
            Assert.Equal(expected, ours.Select(Entry).OrderBy(h => h.Address).ToList());
            Assert.Contains(expected, h => h.Kind == ClrHandleKind.Dependent);
        }
        finally
        {
            (services as IDisposable)?.Dispose();
        }
    }

    [Fact]
    public void Without_the_librarys_interface_the_handles_come_from_ClrMDs_list_kept_to_the_kinds_asked_for()
    {
        using var dump = DumpSession.Open(dumps.BeforePath);
        ClrHandleKind[] kinds = [ClrHandleKind.Strong, ClrHandleKind.Pinned, ClrHandleKind.Dependent];

        // A runtime service that holds no COM wrapper (another ClrMD version): the fast path says so, calling nothing.
        var elsewhere = System.Reflection.DispatchProxy.Create<IAbstractRuntime, RefusingProxy>();
        Assert.Null(DacHandleEnumerator.TryEnumerate(elsewhere, dump.Runtime.DataTarget.DataReader, kinds));

        // What the session then falls back to is what the library's own enumerator lists.
        var fallback = dump.ClrMDHandles(kinds).Select(Entry).OrderBy(h => h.Address).ToList();
        Assert.Equal(dump.EnumerateHandles(kinds).Select(Entry).OrderBy(h => h.Address).ToList(), fallback);
        Assert.All(fallback, h => Assert.Contains(h.Kind, kinds));
        Assert.Contains(fallback, h => h.Kind == ClrHandleKind.Dependent);
        Assert.Equal(ClrMDHandles(dump).ToList(), dump.ClrMDHandles(kinds: null).Select(Entry).ToList());
    }

    /// <summary>A stand-in for ClrMD's runtime service that fails any call made to it.</summary>
    public class RefusingProxy : System.Reflection.DispatchProxy
    {
        protected override object? Invoke(System.Reflection.MethodInfo? targetMethod, object?[]? args) => throw new NotSupportedException(targetMethod?.Name);
    }

    private static (ulong Address, ulong Object, ClrHandleKind Kind, ulong DependentTarget, uint RefCount) Entry(ClrHandleInfo handle) =>
        (handle.Address, handle.Object, handle.Kind, handle.DependentTarget, handle.RefCount);

    private static IEnumerable<(ulong Address, ulong Object, ClrHandleKind Kind, ulong DependentTarget, uint RefCount)> ClrMDHandles(DumpSession dump) =>
        dump.Runtime.EnumerateHandles().Select(h => (h.Address, h.Object.Address, h.HandleKind, h.Dependent.Address, h.ReferenceCount));

    private static (HeapTotals Totals, long BytesUnreadable, string Notes) CountWholeHeap(DumpSession dump, bool clrmdOnly)
    {
        var check = new HeapIntegrity(dump.Segments, dump.PointerSize).CreateWalkCheck();
        var notes = new List<string>();
        var totals = WholeHeapWalk.Count(dump, check, notes, CancellationToken.None, clrmdOnly);
        return (totals, check.BytesUnreadable, string.Join("\n", notes));
    }

    private static IEnumerable<ulong> ThreadStaticValues(DumpSession dump) =>
        from module in dump.Runtime.AppDomains.SelectMany(domain => domain.Modules)
        from type in module.EnumerateTypesWithStaticFields()
        from field in type.ThreadStaticFields
        where field.IsObjectReference
        from thread in dump.Runtime.Threads
        where thread.IsAlive && field.IsInitialized(thread)
        let value = field.ReadObject(thread)
        where !value.IsNull
        select value.Address;

    private readonly struct Collector(List<ulong> references) : IReferenceVisitor
    {
        public bool Visit(ulong reference, int offset)
        {
            references.Add(reference);
            return true;
        }
    }
}
