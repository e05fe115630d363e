namespace HeapDiag.Analysis.Internal.Dominators;

/// <summary>Retained size of all instances of a type: what would be freed if every instance were gone.</summary>
internal static class TypeRetention
{
    /// <summary>Types handled per pass: one bit each in a byte per vertex.</summary>
    private const int TypesPerPass = 8;

    /// <summary>Retained sizes of <paramref name="types"/> (matched by name), largest first.</summary>
    public static IReadOnlyList<TypeRetainedSize> Compute(DominatorTree tree, IReadOnlyList<TypeStats> types, CancellationToken cancellationToken)
    {
        using var typeIds = tree.LoadTypeIds();
        var idom = tree.ImmediateDominator;
        var covered = new byte[idom.Length];
        var retained = new long[types.Count];
        for (var first = 0; first < types.Count; first += TypesPerPass)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var bitOfType = BitsOfTypes(tree.TypeTable, types, first);

            // Top-down (dominators have smaller numbers): an instance nested under another instance of the same
            // type is already inside that one's retained size, so only the top-most instances count.
            covered[DominatorTree.Root] = 0;
            for (var w = 2; w < idom.Length; w++)
            {
                var own = typeIds[w] >= 0 ? bitOfType[typeIds[w]] : (byte)0;
                var above = covered[idom[w]];
                covered[w] = (byte)(above | own);
                for (var bits = own & ~above; bits != 0; bits &= bits - 1)
                {
                    retained[first + System.Numerics.BitOperations.TrailingZeroCount(bits)] += tree.Retained[w];
                }
            }
        }

        return [.. types
            .Select((type, i) => new TypeRetainedSize(type.Name, type.Count, type.Bytes, retained[i]))
            .OrderByDescending(r => r.RetainedBytes)
            .ThenBy(r => r.Name, StringComparer.Ordinal)];
    }

    /// <summary>For each type id, the bit of the type among types[first .. first + 8) that has its name, or 0.</summary>
    private static byte[] BitsOfTypes(IReadOnlyList<HeapType> typeTable, IReadOnlyList<TypeStats> types, int first)
    {
        var bitOfName = new Dictionary<string, byte>(StringComparer.Ordinal);
        for (var i = first; i < Math.Min(types.Count, first + TypesPerPass); i++)
        {
            bitOfName[types[i].Name] = (byte)(1 << (i - first));
        }

        return [.. typeTable.Select(t => bitOfName.GetValueOrDefault(t.Name))];
    }
}
