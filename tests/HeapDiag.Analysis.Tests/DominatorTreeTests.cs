using HeapDiag.Analysis.Internal;
using HeapDiag.Analysis.Internal.Dominators;

namespace HeapDiag.Analysis.Tests;

/// <summary>
/// The Lengauer–Tarjan / SEMI-NCA computation, with its scratch files, against the definition itself on small graphs:
/// u dominates v when removing u leaves v unreachable from the root.
/// </summary>
public sealed class DominatorTreeTests
{
    [Theory]
    [InlineData(1, 40, 1.5, false)]
    [InlineData(2, 120, 2.5, false)]
    [InlineData(3, 300, 1.2, false)]
    [InlineData(4, 300, 4.0, false)]
    [InlineData(5, 800, 2.0, false)]
    [InlineData(2, 120, 2.5, true)]
    [InlineData(5, 800, 2.0, true)]
    public void Dominators_and_retained_sizes_match_the_definition_on_random_graphs(int seed, int nodes, double referencesPerNode, bool mapped)
    {
        var random = new Random(seed);
        var references = Enumerable.Range(0, nodes).Select(_ => new List<int>()).ToArray();
        for (var root = 0; root < Math.Max(1, nodes / 20); root++)
        {
            references[0].Add(random.Next(1, nodes));
        }

        for (var edge = 0; edge < nodes * referencesPerNode; edge++)
        {
            references[random.Next(1, nodes)].Add(random.Next(1, nodes));
        }

        int[] sizes = [0, .. Enumerable.Range(1, nodes - 1).Select(_ => 8 * random.Next(3, 40))];

        var computed = Compute(references, sizes, mapped);
        var expected = NaiveImmediateDominators(references);

        Assert.Equal(expected.Count(d => d >= 0), computed.Reached);
        for (var node = 1; node < nodes; node++)
        {
            Assert.Equal(expected[node], computed.ImmediateDominator.GetValueOrDefault(node, -1));
        }

        for (var node = 1; node < nodes; node++)
        {
            if (expected[node] >= 0)
            {
                var dominated = Enumerable.Range(1, nodes - 1).Where(v => Dominates(expected, node, v)).Sum(v => (long)sizes[v]);
                Assert.Equal(dominated, computed.Retained[node]);
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_linked_list_of_a_million_nodes_is_a_chain_each_retaining_the_rest(bool mapped)
    {
        const int Count = 1_000_000;
        var references = new List<int>[Count + 1];
        references[0] = [1];
        for (var node = 1; node <= Count; node++)
        {
            references[node] = node < Count ? [node + 1] : [];
        }

        var computed = Compute(references, [0, .. Enumerable.Repeat(24, Count)], mapped);

        Assert.Equal(Count, computed.Reached);
        Assert.Equal(24L * Count, computed.Retained[1]);
        Assert.Equal(24L, computed.Retained[Count]);
        Assert.Equal(Count - 1, computed.ImmediateDominator[Count]);
    }

    /// <summary>
    /// The recording leaves out the tree edges, so a heap that is one long list has almost no references: its buckets
    /// must still be counted by its vertices, or one bucket's offsets would hold all of them (4 bytes per object).
    /// </summary>
    [Theory]
    [InlineData(50_000_000L, 0L)]
    [InlineData(50_000_000L, 80_000_000L)]
    [InlineData(1_000L, 10L)]
    public void A_bucket_holds_at_most_its_bytes_whatever_share_of_the_references_was_recorded(long vertices, long references)
    {
        // Rounding each bucket's share up adds at most three ints.
        Assert.InRange(PredecessorBuckets.BucketBytes(vertices, references), 1, PredecessorBuckets.MaxBucketBytes + (3 * sizeof(int)));
    }

    [Fact]
    public void Retained_sizes_above_32_bits_of_units_stay_exact()
    {
        var sizes = new RetainedSizes(3, pointerSize: 8);
        sizes.Set(1, 8);
        sizes.Set(2, 30L << 30);

        sizes.Add(1, sizes[2]);
        sizes.Add(1, 20L << 30);

        Assert.Equal((50L << 30) + 8, sizes[1]);
        Assert.Equal(30L << 30, sizes[2]);
    }

    /// <summary>Immediate dominators by node (−1: unreachable, 0: the root itself dominates), from the tree's preorder numbering.</summary>
    private sealed record Computed(int Reached, Dictionary<int, int> ImmediateDominator, Dictionary<int, long> Retained);

    /// <param name="references">Adjacency lists; node 0 is the virtual root.</param>
    /// <param name="sizes">Each node's own size.</param>
    /// <param name="mapped">Whether the arrays go to memory-mapped scratch files, as when the pass does not fit in the budget.</param>
    private static Computed Compute(IReadOnlyList<List<int>> references, int[] sizes, bool mapped)
    {
        using var scratch = ScratchSpace.Create(null);
        (var graph, var live) = RecordDepthFirst(references, sizes, scratch);
        scratch.MapsArrays = mapped;
        using var tree = DominatorTree.Compute(graph, live, pointerSize: 8, CancellationToken.None);
        var nodeOf = new int[tree.VertexCount + 1];
        for (var vertex = 2; vertex <= tree.VertexCount; vertex++)
        {
            nodeOf[vertex] = NodeAt(tree.AddressOf(vertex));
        }

        var idom = new Dictionary<int, int>();
        var retained = new Dictionary<int, long>();
        for (var vertex = 2; vertex <= tree.VertexCount; vertex++)
        {
            idom[nodeOf[vertex]] = nodeOf[tree.ImmediateDominator[vertex]];
            retained[nodeOf[vertex]] = tree.Retained[vertex];
        }

        Assert.Equal(mapped, tree.ImmediateDominator.IsMapped);
        return new Computed(tree.VertexCount - 1, idom, retained);
    }

    private const ulong FirstAddress = 0x10000;

    private static ulong AddressOf(int node) => FirstAddress + (8UL * (ulong)node);

    private static int NodeAt(ulong address) => address == 0 ? 0 : (int)((address - FirstAddress) / 8);

    /// <summary>
    /// What the mark pass records, for a graph of adjacency lists: a recursive depth-first search from node 0 (node n
    /// at a made-up address), written iteratively, and the bitmap of the nodes it reached.
    /// </summary>
    private static (PreorderGraph Graph, ObjectBitmap Live) RecordDepthFirst(IReadOnlyList<List<int>> references, int[] sizes, ScratchSpace scratch)
    {
        var live = new ObjectBitmap([(AddressOf(1), AddressOf(references.Count))]);
        var graph = new PreorderGraph(scratch, []);
        var vertexOf = new int[references.Count];
        vertexOf[0] = DominatorTree.Root;
        var stack = new Stack<(int Node, int NextReference)>([(0, 0)]);
        while (stack.TryPop(out var top))
        {
            var adjacent = references[top.Node];
            if (top.NextReference == adjacent.Count)
            {
                continue;
            }

            stack.Push((top.Node, top.NextReference + 1));
            var target = adjacent[top.NextReference];
            if (live.TrySet(AddressOf(target), out _))
            {
                // A tree edge: the parent is all the graph needs of it, as in the mark pass.
                vertexOf[target] = graph.AddVertex(vertexOf[top.Node], AddressOf(target), (ulong)sizes[target], type: null);
                stack.Push((target, 0));
            }
            else
            {
                graph.AddEdge(vertexOf[top.Node], AddressOf(target));
            }
        }

        graph.Complete();
        live.BuildIndex();
        return (graph, live);
    }

    /// <summary>By definition: the dominators of v are the nodes whose removal cuts v off; the immediate one is the deepest.</summary>
    private static int[] NaiveImmediateDominators(IReadOnlyList<List<int>> references)
    {
        var nodes = references.Count;
        var reachable = Reach(references, removed: -1);
        var dominators = new List<int>[nodes];
        for (var v = 1; v < nodes; v++)
        {
            dominators[v] = [0];
        }

        for (var u = 1; u < nodes; u++)
        {
            var without = Reach(references, removed: u);
            for (var v = 1; v < nodes; v++)
            {
                if (reachable[v] && !without[v] && v != u)
                {
                    dominators[v].Add(u);
                }
            }
        }

        return [.. Enumerable.Range(0, nodes).Select(v => v == 0 || !reachable[v] ? -1 : dominators[v].MaxBy(u => u == 0 ? 0 : dominators[u].Count))];
    }

    private static bool[] Reach(IReadOnlyList<List<int>> references, int removed)
    {
        var reached = new bool[references.Count];
        var pending = new Stack<int>([0]);
        reached[0] = true;
        while (pending.TryPop(out var node))
        {
            foreach (var target in references[node])
            {
                if (target != removed && !reached[target])
                {
                    reached[target] = true;
                    pending.Push(target);
                }
            }
        }

        return reached;
    }

    private static bool Dominates(int[] idom, int u, int v)
    {
        for (var x = v; x > 0; x = idom[x])
        {
            if (x == u)
            {
                return true;
            }
        }

        return false;
    }
}
