using System.Runtime.CompilerServices;

namespace HeapDiag.Analysis.Internal.Dominators;

/// <summary>
/// Numbers the object graph's vertices in depth-first preorder from the virtual root (1 is the virtual root, 2 … are
/// live objects), iteratively: heap graphs are far deeper than any call stack. What later phases read back once in
/// order goes to scratch files indexed by preorder number (entry v belongs to vertex v; entry 0 is unused).
/// </summary>
internal static class PreorderNumbering
{
    /// <summary>Each vertex's DFS parent.</summary>
    public const string ParentsFile = "parent.pre";

    /// <summary>Each vertex's graph node (<see cref="ObjectGraph"/> numbering).</summary>
    public const string NodesFile = "node.pre";

    /// <summary>Each vertex's own size.</summary>
    public const string SizesFile = "sizes.pre";

    /// <summary>Each vertex's type id.</summary>
    public const string TypesFile = "types.pre";

    private const int CancellationCheckInterval = 1 << 20;

    /// <summary>
    /// Depth-first preorder from node 0 (the virtual root). Writes each vertex's DFS parent and node, in preorder, to
    /// scratch; fills <paramref name="numbers"/> (node → preorder number, 0 = not reached); returns the vertex count.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int NumberDepthFirst(ObjectGraph graph, IntArray numbers, ScratchSpace scratch, CancellationToken cancellationToken)
    {
        using var parents = scratch.CreateWriter(ParentsFile);
        using var nodes = scratch.CreateWriter(NodesFile);
        var firstTarget = graph.FirstTarget.Span;
        var targets = graph.Targets.Span;
        var number = numbers.Span;

        // Index 0 of both files is unused, so that entry v belongs to preorder number v.
        parents.Write(0);
        nodes.Write(0);
        using var stack = new DepthFirstStack(scratch, graph.NodeCount);
        var counter = 1;
        number[0] = 1;
        parents.Write(0);
        nodes.Write(0);
        stack.Push(0, firstTarget[0]);
        while (stack.Count > 0)
        {
            ref var nextEdge = ref stack.TopEdge;
            var node = stack.TopNode;
            var end = firstTarget[node + 1];
            var edge = nextEdge;
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
            var child = targets[edge];
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
    public static void ReorderToPreorder(ScratchSpace scratch, IntArray numbers, int vertexCount)
    {
        using var byVertexArray = scratch.CreateArray("by-vertex", vertexCount + 1);
        var byVertex = byVertexArray.Span;
        var number = numbers.Span;
        foreach ((var nodeOrder, var preorder) in new[] { (ObjectGraph.SizesFile, SizesFile), (ObjectGraph.TypesFile, TypesFile) })
        {
            using (var reader = scratch.OpenReader(nodeOrder))
            {
                for (var node = 0; node < number.Length; node++)
                {
                    var value = reader.Read();
                    if (number[node] != 0)
                    {
                        byVertex[number[node]] = value;
                    }
                }
            }

            scratch.Delete(nodeOrder);
            using var writer = scratch.CreateWriter(preorder);
            foreach (var value in byVertex)
            {
                writer.Write(value);
            }
        }
    }
}
