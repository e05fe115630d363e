namespace HeapDiag.Analysis.Internal.Dominators;

/// <summary>
/// The stack of the depth-first numbering as two int arrays (node, next edge to try): a million-deep linked list
/// costs 8 MB here, where a stack of tuples in a <c>Stack&lt;T&gt;</c> would cost the same plus its doubling copies.
/// In memory the arrays start small and double; mapped, they are sized for the deepest possible stack at once (a
/// sparse file costs only the pages the stack reaches).
/// </summary>
internal sealed class DepthFirstStack : IDisposable
{
    private const int InitialCapacity = 4096;

    private readonly ScratchSpace _scratch;
    private IntArray _nodes;
    private IntArray _edges;

    /// <param name="scratch">Where the arrays come from.</param>
    /// <param name="maxDepth">The deepest the stack can get: the number of nodes.</param>
    public DepthFirstStack(ScratchSpace scratch, int maxDepth)
    {
        _scratch = scratch;
        var capacity = scratch.MapsArrays ? Math.Max(1, maxDepth) : Math.Min(InitialCapacity, Math.Max(1, maxDepth));
        _nodes = scratch.CreateArray("dfs-nodes", capacity);
        _edges = scratch.CreateArray("dfs-edges", capacity);
    }

    public int Count { get; private set; }

    public int TopNode => _nodes[Count - 1];

    public ref int TopEdge => ref _edges[Count - 1];

    public void Push(int node, int edge)
    {
        if (Count == _nodes.Length)
        {
            _nodes = Grow(_nodes, "dfs-nodes");
            _edges = Grow(_edges, "dfs-edges");
        }

        _nodes[Count] = node;
        _edges[Count] = edge;
        Count++;
    }

    public void Pop() => Count--;

    public void Dispose()
    {
        _nodes.Dispose();
        _edges.Dispose();
    }

    private IntArray Grow(IntArray array, string name)
    {
        var grown = _scratch.CreateArray(name, Math.Min(int.MaxValue, (long)array.Length * 2));
        array.Span.CopyTo(grown.Span);
        array.Dispose();
        return grown;
    }
}
