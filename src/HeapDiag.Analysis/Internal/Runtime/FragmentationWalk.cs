namespace HeapDiag.Analysis.Internal.Runtime;

/// <summary>
/// One walk over every segment's objects: the bytes and free bytes of each generation, and for each pinned object
/// that sits right after free space, the free bytes before it, by type.
/// </summary>
internal static class FragmentationWalk
{
    private const int TopCauses = 5;
    private static readonly string[] Order = ["gen0", "gen1", "gen2", "loh", "poh", "frozen"];

    public static List<GenerationFragmentation> Run(DumpSession dump, HashSet<ulong> pinned, CancellationToken cancellationToken)
    {
        var generations = new Dictionary<string, Generation>(StringComparer.Ordinal);
        var free = dump.Heap.FreeType;
        var seen = 0;
        foreach (var segment in dump.Segments)
        {
            ulong freeRun = 0;
            foreach (var item in segment.EnumerateObjects())
            {
                if ((++seen & 0xFFFF) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                if (!item.IsValid)
                {
                    freeRun = 0;
                    continue;
                }

                var generation = Of(generations, DumpSession.GenerationOf(segment, item.Address));
                var size = item.Size;
                generation.Bytes += (long)size;
                if (item.Type == free || item.IsFree)
                {
                    generation.FreeBytes += (long)size;
                    freeRun += size;
                    continue;
                }

                if (freeRun > 0 && pinned.Contains(item.Address))
                {
                    generation.AddCause(item.Type?.Name ?? "(unknown type)", (long)freeRun);
                }

                freeRun = 0;
            }
        }

        return [.. generations
            .OrderBy(entry => Array.IndexOf(Order, entry.Key) is var index && index < 0 ? Order.Length : index)
            .Select(entry => entry.Value.ToStats(entry.Key, TopCauses))];
    }

    private static Generation Of(Dictionary<string, Generation> generations, string name)
    {
        if (!generations.TryGetValue(name, out var generation))
        {
            generations[name] = generation = new Generation();
        }

        return generation;
    }

    private sealed class Generation
    {
        private readonly Dictionary<string, (long Objects, long FreeBytes)> _causes = new(StringComparer.Ordinal);

        public long Bytes { get; set; }

        public long FreeBytes { get; set; }

        public long PinnedObjects { get; private set; }

        public void AddCause(string type, long freeBefore)
        {
            PinnedObjects++;
            var (objects, bytes) = _causes.GetValueOrDefault(type);
            _causes[type] = (objects + 1, bytes + freeBefore);
        }

        public GenerationFragmentation ToStats(string name, int top) => new(
            name,
            Bytes,
            FreeBytes,
            PinnedObjects,
            [.. _causes.OrderByDescending(cause => cause.Value.FreeBytes).Take(top).Select(cause => new PinnedCause(cause.Key, cause.Value.Objects, cause.Value.FreeBytes))]);
    }
}
