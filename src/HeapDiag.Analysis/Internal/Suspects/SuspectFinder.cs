using HeapDiag.Analysis.Internal.Dominators;

namespace HeapDiag.Analysis.Internal.Suspects;

/// <summary>A place where memory accumulates, in dominator-tree vertices, before it is described for a person.</summary>
/// <param name="Kind"><see cref="SuspectKinds.Object"/>, <see cref="SuspectKinds.Instances"/> or <see cref="SuspectKinds.Runtime"/>.</param>
/// <param name="TopVertex">The top-level dominator the point lies under; for a group, its first sampled instance; for a runtime group, its first counted object.</param>
/// <param name="HolderVertex">
/// For an object suspect, the object to name: the accumulation point, or the collection whose inside it is (the
/// <c>List&lt;T&gt;</c> rather than its <c>T[]</c>). −1 for a group: its holder is found on the instances' root paths.
/// </param>
/// <param name="TypeId">The group's type (index into <see cref="DominatorTree.TypeTable"/>); −1 for an object suspect.</param>
/// <param name="InstanceCount">1, or the group's size.</param>
/// <param name="RetainedBytes">What the holder retains; for a group, what all its instances retain together.</param>
/// <param name="Chain">For a point that heads a chain of objects of one type (a linked list) with no collection above it: the chain's length.</param>
/// <param name="Samples">For a group: instances spread evenly over it, to find their common holder (for a runtime group, the application objects they keep).</param>
/// <param name="Runtime">For a runtime group: the catalogue entry whose runtime structure holds it.</param>
internal sealed record SuspectCandidate(
    string Kind,
    int TopVertex,
    int HolderVertex,
    int TypeId,
    long InstanceCount,
    long RetainedBytes,
    CollectionContents? Chain,
    IReadOnlyList<int> Samples,
    KnownPattern? Runtime = null)
{
    /// <summary>What accumulates at the point: its retained bytes less those of the suspects below it. Suspects are ranked by it.</summary>
    public long RankBytes { get; init; } = RetainedBytes;
}

/// <summary>
/// Finds where memory accumulates in the dominator tree, as Eclipse Memory Analyzer's leak suspects do: every
/// subtree retaining at least the threshold is explored, descending into each child that itself retains the
/// threshold; a vertex is an accumulation point where the retained size spreads over children that are each below it
/// (or when such spread-out bytes alone pass it). Top-level objects of one type that are each small but together
/// pass the threshold form a group suspect.
/// </summary>
internal sealed class SuspectFinder
{
    /// <summary>Descents below one top-level object before the search gives up on it (a chain of ever-changing types).</summary>
    private const int MaxStepsPerTop = 1000;
    private const int GroupSamples = 50;

    private readonly DominatorTree _tree;
    private readonly IntArray _idom;
    private readonly RetainedSizes _retained;
    private readonly IntArray _typeIds;
    private readonly long _threshold;

    /// <summary>
    /// Every vertex retaining at least the threshold, as (dominator &lt;&lt; 32 | vertex), sorted: the children worth
    /// descending into, found by binary search. (A scan of the rest of the tree per explored vertex made the search
    /// grow with the heap's size times the number of vertices explored.)
    /// </summary>
    private readonly long[] _bigByDominator;

    private SuspectFinder(DominatorTree tree, IntArray typeIds, long threshold)
    {
        _tree = tree;
        _idom = tree.ImmediateDominator;
        _retained = tree.Retained;
        _typeIds = typeIds;
        _threshold = threshold;
        _bigByDominator = IndexBigVertices();
    }

    /// <param name="tree">The dominator tree.</param>
    /// <param name="typeIds">Type ids by vertex (<see cref="DominatorTree.LoadTypeIds"/>).</param>
    /// <param name="threshold">Bytes a suspect retains at least (at least 1).</param>
    /// <param name="cancellationToken">Checked between subtrees.</param>
    public static IReadOnlyList<SuspectCandidate> Find(DominatorTree tree, IntArray typeIds, long threshold, CancellationToken cancellationToken)
    {
        var finder = new SuspectFinder(tree, typeIds, Math.Max(1, threshold));
        var found = new List<SuspectCandidate>();
        foreach (var top in finder.ChildrenAtLeastThreshold(DominatorTree.Root))
        {
            cancellationToken.ThrowIfCancellationRequested();
            found.AddRange(finder.Explore(top));
        }

        found.AddRange(finder.Groups());
        found = [.. found.GroupBy(c => c.Kind == SuspectKinds.Object ? c.HolderVertex : -1 - c.TypeId).Select(g => g.First())];
        found = RuntimeGroups.Apply(tree, typeIds, finder._threshold, found);
        return [.. finder.Ranked(found).OrderByDescending(c => c.RankBytes).ThenByDescending(c => c.RetainedBytes)];
    }

    /// <summary>
    /// Each object candidate with the bytes of the candidates right below it (the nearest one above each) taken off
    /// its rank: a holder whose retained bytes lie mostly in child suspects is context on their paths, not ahead of them.
    /// </summary>
    private IEnumerable<SuspectCandidate> Ranked(List<SuspectCandidate> candidates)
    {
        var holders = candidates.Where(c => c.Kind == SuspectKinds.Object).Select(c => c.HolderVertex).ToHashSet();
        var below = new Dictionary<int, long>();
        foreach (var candidate in candidates.Where(c => c.Kind == SuspectKinds.Object))
        {
            for (var up = _idom[candidate.HolderVertex]; up > DominatorTree.Root; up = _idom[up])
            {
                if (holders.Contains(up))
                {
                    below[up] = below.GetValueOrDefault(up) + candidate.RetainedBytes;
                    break;
                }
            }
        }

        return candidates.Select(c => c.Kind == SuspectKinds.Object && below.TryGetValue(c.HolderVertex, out var inChildren)
            ? c with { RankBytes = c.RetainedBytes - inChildren }
            : c);
    }

    private IEnumerable<SuspectCandidate> Explore(int top)
    {
        var work = new Stack<int>();
        work.Push(top);
        var steps = 0;
        while (work.TryPop(out var vertex))
        {
            var big = ChildrenAtLeastThreshold(vertex);
            var inBig = big.Sum(child => _retained[child]);
            if (big.Count == 1 && IsChainLink(vertex, big[0]))
            {
                yield return Point(top, vertex, chainHead: true);
                continue;
            }

            if (big.Count == 0 || _retained[vertex] - inBig >= _threshold || ++steps > MaxStepsPerTop)
            {
                yield return Point(top, vertex, chainHead: false);
                if (steps > MaxStepsPerTop)
                {
                    yield break;
                }
            }

            foreach (var child in big)
            {
                work.Push(child);
            }
        }
    }

    /// <summary>A child of the same type that holds most of the parent: the parent heads a linked chain (a list of nodes).</summary>
    private bool IsChainLink(int vertex, int child) =>
        _typeIds[vertex] >= 0 && _typeIds[child] == _typeIds[vertex] && _retained[child] * 5 >= _retained[vertex] * 4;

    private SuspectCandidate Point(int top, int vertex, bool chainHead)
    {
        var holder = Holder(vertex);
        CollectionContents? chain = null;
        if (chainHead && holder == vertex)
        {
            var type = _tree.TypeTable[_typeIds[vertex]];
            chain = new CollectionContents(Containers.ChainKind, type.Name, CountOfTypeBelow(vertex));
        }

        return new SuspectCandidate(SuspectKinds.Object, top, holder, -1, 1, _retained[holder], chain, []);
    }

    /// <summary>
    /// The collection whose inside <paramref name="vertex"/> is (an array or a System.Collections type under a
    /// <c>List</c>, <c>Dictionary</c>, delegate…), climbing a few dominators; else the vertex itself.
    /// </summary>
    private int Holder(int vertex)
    {
        var dominators = new List<int>(Containers.MaxLevelsToOwner);
        for (var above = _idom[vertex]; above > DominatorTree.Root && dominators.Count < Containers.MaxLevelsToOwner; above = _idom[above])
        {
            dominators.Add(above);
        }

        var levels = Containers.LevelsToOwningCollection(TypeOf(vertex), [.. dominators.Select(TypeOf)]);
        return levels == 0 ? vertex : dominators[levels - 1];
    }

    /// <summary>Objects of the head's type in the head's dominator subtree (the head included): a chain's length.</summary>
    private long CountOfTypeBelow(int head)
    {
        var type = _typeIds[head];
        var inSubtree = new ulong[(_idom.Length + 63) / 64];
        inSubtree[head / 64] |= 1UL << (head % 64);
        long count = 1;
        for (var w = head + 1; w < _idom.Length; w++)
        {
            var d = _idom[w];
            if (d >= head && (inSubtree[d / 64] & (1UL << (d % 64))) != 0)
            {
                inSubtree[w / 64] |= 1UL << (w % 64);
                if (_typeIds[w] == type)
                {
                    count++;
                }
            }
        }

        return count;
    }

    /// <summary>Top-level objects below the threshold, grouped by type: groups that pass it together.</summary>
    private IEnumerable<SuspectCandidate> Groups()
    {
        var types = _tree.TypeTable.Count;
        var bytes = new long[types];
        var counts = new long[types];
        for (var w = 2; w < _idom.Length; w++)
        {
            if (_idom[w] == DominatorTree.Root && _retained[w] < _threshold && _typeIds[w] >= 0)
            {
                bytes[_typeIds[w]] += _retained[w];
                counts[_typeIds[w]]++;
            }
        }

        for (var type = 0; type < types; type++)
        {
            if (bytes[type] >= _threshold && counts[type] >= 2)
            {
                var samples = SampleGroup(type, counts[type]);
                yield return new SuspectCandidate(SuspectKinds.Instances, samples[0], -1, type, counts[type], bytes[type], null, samples);
            }
        }
    }

    private int[] SampleGroup(int type, long count)
    {
        var wanted = (int)Math.Min(GroupSamples, count);
        var samples = new List<int>(wanted);
        long seen = 0;
        for (var w = 2; w < _idom.Length && samples.Count < wanted; w++)
        {
            if (_idom[w] == DominatorTree.Root && _retained[w] < _threshold && _typeIds[w] == type)
            {
                if (seen == samples.Count * count / wanted)
                {
                    samples.Add(w);
                }

                seen++;
            }
        }

        return [.. samples];
    }

    private long[] IndexBigVertices()
    {
        var big = new List<long>();
        for (var w = 2; w < _idom.Length; w++)
        {
            if (_retained[w] >= _threshold)
            {
                big.Add(((long)_idom[w] << 32) | (uint)w);
            }
        }

        var sorted = big.ToArray();
        Array.Sort(sorted);
        return sorted;
    }

    /// <summary>Children of <paramref name="vertex"/> in the dominator tree retaining at least the threshold, largest first.</summary>
    private List<int> ChildrenAtLeastThreshold(int vertex)
    {
        var first = Array.BinarySearch(_bigByDominator, (long)vertex << 32);
        first = first < 0 ? ~first : first;
        var children = new List<int>();
        for (var i = first; i < _bigByDominator.Length && (int)(_bigByDominator[i] >> 32) == vertex; i++)
        {
            children.Add((int)(uint)_bigByDominator[i]);
        }

        children.Sort((a, b) => _retained[b].CompareTo(_retained[a]));
        return children;
    }

    private HeapType? TypeOf(int vertex) => _typeIds[vertex] >= 0 ? _tree.TypeTable[_typeIds[vertex]] : null;
}
