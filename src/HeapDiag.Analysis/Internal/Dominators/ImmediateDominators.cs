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
                using (var best = scratch.CreateArray("best", vertexCount + 1))
                {
                    ComputeSemidominators(buckets, semi.Span, best.Span, idom.Span, scratch, cancellationToken);
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
    /// <remarks>
    /// SEMI-NCA needs only semidominator values, never the vertex that has the smallest one, so the forest keeps that
    /// smallest value itself (<paramref name="best"/>, where the textbook keeps a label vertex and reads its
    /// semidominator): one memory access less per compression step on arrays far larger than the CPU caches.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ComputeSemidominators(
        PredecessorBuckets buckets, Span<int> semi, Span<int> best, Span<int> ancestor, ScratchSpace scratch, CancellationToken cancellationToken)
    {
        scratch.ReadAll(PreorderGraph.ParentsFile, ancestor);

        var path = new Stack<int>();
        for (var bucket = buckets.Count - 1; bucket >= 0; bucket--)
        {
            cancellationToken.ThrowIfCancellationRequested();
            (var first, var last, var offsets, var sources) = buckets.Load(bucket);
            for (var w = last; w >= Math.Max(first, 2); w--)
            {
                // The DFS parent is a predecessor the recording leaves out (see PreorderGraph). Nothing has compressed
                // w's entry yet (only linked vertices, above w, are), so it still holds the parent.
                var smallest = ancestor[w];
                for (var p = offsets[w - first]; p < offsets[w - first + 1]; p++)
                {
                    smallest = Math.Min(smallest, Evaluate(sources[p], w, ancestor, best, path));
                }

                semi[w] = smallest;
                best[w] = smallest;
            }
        }

        buckets.ReleaseBuffers();
    }

    /// <summary>
    /// The smallest semidominator on the forest path above <paramref name="v"/> (<paramref name="v"/> itself when it is
    /// not linked yet), compressing the path. Vertices numbered above <paramref name="current"/> are the linked ones.
    /// </summary>
    private static int Evaluate(int v, int current, Span<int> ancestor, Span<int> best, Stack<int> path)
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
            if (best[a] < best[y])
            {
                best[y] = best[a];
            }

            ancestor[y] = ancestor[a];
        }

        return best[v];
    }

    /// <summary>SEMI-NCA: in increasing preorder, climb from the DFS parent while above the semidominator.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ComputeFromSemidominators(Span<int> semi, Span<int> idom, ScratchSpace scratch)
    {
        using var parents = scratch.OpenReader(PreorderGraph.ParentsFile);
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

        scratch.Delete(PreorderGraph.ParentsFile);
    }
}
