using System.Runtime.CompilerServices;

namespace HeapDiag.Analysis.Internal.Dominators;

/// <summary>
/// Immediate dominators by preorder number: Lengauer–Tarjan semidominators, then the SEMI-NCA step (Georgiadis), both
/// iterative. Three int arrays in memory (12 bytes per vertex), the predecessors read bucket by bucket.
/// </summary>
internal static class ImmediateDominators
{
    /// <summary>Semidominators, then immediate dominators in the ancestor array; only that array outlives the call.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static IntArray Compute(PredecessorBuckets buckets, int vertexCount, ScratchSpace scratch, CancellationToken cancellationToken)
    {
        var idom = scratch.CreateArray("ancestor", vertexCount + 1);
        try
        {
            using (var semi = scratch.CreateArray("semi", vertexCount + 1))
            {
                using (var label = scratch.CreateArray("label", vertexCount + 1))
                {
                    ComputeSemidominators(buckets, semi.Span, label.Span, idom.Span, scratch, cancellationToken);
                }

                ComputeFromSemidominators(semi.Span, idom.Span, scratch);
            }

            return idom;
        }
        catch
        {
            idom.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Lengauer–Tarjan semidominators with path compression, vertices in decreasing preorder, each with its
    /// predecessors from the bucket files. A vertex is linked to its DFS parent once processed, so "linked" is simply
    /// "numbered above the vertex being processed": the ancestor array can start as a copy of the parents. Returns
    /// the semidominators in <paramref name="semi"/>; <paramref name="ancestor"/> is reused as the dominator array.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ComputeSemidominators(
        PredecessorBuckets buckets, Span<int> semi, Span<int> label, Span<int> ancestor, ScratchSpace scratch, CancellationToken cancellationToken)
    {
        var vertexCount = semi.Length - 1;
        scratch.ReadAll(PreorderNumbering.ParentsFile, ancestor);
        for (var v = 1; v <= vertexCount; v++)
        {
            semi[v] = v;
            label[v] = v;
        }

        var path = new Stack<int>();
        for (var bucket = buckets.Count - 1; bucket >= 0; bucket--)
        {
            cancellationToken.ThrowIfCancellationRequested();
            (var first, var last, var offsets, var sources) = buckets.Load(bucket);
            for (var w = last; w >= Math.Max(first, 2); w--)
            {
                for (var p = offsets[w - first]; p < offsets[w - first + 1]; p++)
                {
                    var u = Evaluate(sources[p], w, ancestor, label, semi, path);
                    if (semi[u] < semi[w])
                    {
                        semi[w] = semi[u];
                    }
                }
            }
        }

        buckets.ReleaseBuffers();
    }

    /// <summary>
    /// The vertex with the smallest semidominator on the forest path above <paramref name="v"/>, compressing the path.
    /// Vertices numbered above <paramref name="current"/> are the linked ones.
    /// </summary>
    private static int Evaluate(int v, int current, Span<int> ancestor, Span<int> label, Span<int> semi, Stack<int> path)
    {
        if (v <= current)
        {
            return v;
        }

        var x = v;
        while (ancestor[x] > current)
        {
            path.Push(x);
            x = ancestor[x];
        }

        while (path.TryPop(out var y))
        {
            var a = ancestor[y];
            if (semi[label[a]] < semi[label[y]])
            {
                label[y] = label[a];
            }

            ancestor[y] = ancestor[a];
        }

        return label[v];
    }

    /// <summary>SEMI-NCA: in increasing preorder, climb from the DFS parent while above the semidominator.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ComputeFromSemidominators(Span<int> semi, Span<int> idom, ScratchSpace scratch)
    {
        using var parents = scratch.OpenReader(PreorderNumbering.ParentsFile);
        // Entry 0 is unused and the virtual root (1) has no dominator.
        parents.Read();
        parents.Read();
        idom[DominatorTree.Root] = 0;
        for (var w = 2; w < idom.Length; w++)
        {
            var candidate = parents.Read();
            while (candidate > semi[w])
            {
                candidate = idom[candidate];
            }

            idom[w] = candidate;
        }

        scratch.Delete(PreorderNumbering.ParentsFile);
    }
}
