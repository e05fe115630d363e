namespace HeapDiag.Analysis.Internal.Dominators;

/// <summary>
/// The stack of the depth-first numbering as two growing int arrays (node, next edge to try): a million-deep linked
/// list costs 8 MB here, where a stack of tuples in a <c>Stack&lt;T&gt;</c> would cost the same plus its doubling copies.
/// </summary>
internal sealed class DepthFirstStack
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
