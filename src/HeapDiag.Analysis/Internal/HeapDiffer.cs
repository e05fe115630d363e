namespace HeapDiag.Analysis.Internal;

/// <summary>Compares two summaries type by type (by name, since method table addresses differ between processes).</summary>
internal static class HeapDiffer
{
    public static HeapDiff Diff(HeapSummary before, HeapSummary after, int top)
    {
        top = Math.Max(1, top);
        var beforeByName = before.Types.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var afterByName = after.Types.ToDictionary(t => t.Name, StringComparer.Ordinal);

        var deltas = new List<TypeDelta>();
        foreach (var name in beforeByName.Keys.Union(afterByName.Keys, StringComparer.Ordinal))
        {
            var was = beforeByName.GetValueOrDefault(name);
            var now = afterByName.GetValueOrDefault(name);
            var countBefore = was?.Count ?? 0;
            var countAfter = now?.Count ?? 0;
            var bytesBefore = was?.Bytes ?? 0;
            var bytesAfter = now?.Bytes ?? 0;
            deltas.Add(new TypeDelta(name, countBefore, countAfter, countAfter - countBefore, bytesBefore, bytesAfter, bytesAfter - bytesBefore));
        }

        var changed = deltas
            .Where(d => d.CountDelta != 0 || d.BytesDelta != 0)
            .OrderByDescending(d => d.BytesDelta)
            .ThenByDescending(d => d.CountDelta)
            .ThenBy(d => d.Name, StringComparer.Ordinal)
            .ToList();
        var newTypes = deltas
            .Where(d => d.CountBefore == 0)
            .OrderByDescending(d => d.BytesAfter)
            .ThenBy(d => d.Name, StringComparer.Ordinal)
            .Take(top)
            .ToList();
        var vanished = deltas
            .Where(d => d.CountAfter == 0)
            .OrderByDescending(d => d.BytesBefore)
            .ThenBy(d => d.Name, StringComparer.Ordinal)
            .Take(top)
            .ToList();

        return new HeapDiff(
            before.DumpFileName,
            after.DumpFileName,
            after.Counting,
            before.Live,
            after.Live,
            after.Live.Objects - before.Live.Objects,
            after.Live.Bytes - before.Live.Bytes,
            [.. changed.Take(top)],
            newTypes,
            vanished,
            changed.Count);
    }
}
