using System.Globalization;
using HeapDiag.Analysis.Internal.Dominators;

namespace HeapDiag.Analysis.Internal;

/// <summary>Builds a <see cref="HeapSummary"/> from the mark pass's census and, when there is one, the dominator tree.</summary>
internal static class HeapSummarizer
{
    private const int MaxStringPreviewChars = 100;

    /// <param name="heap">The marked heap.</param>
    /// <param name="options">Top list sizes.</param>
    /// <param name="dominators">Gives the dominator tree, or throws <see cref="HeapAnalysisBudgetException"/>; null when retained sizes are off.</param>
    /// <param name="durationMs">Time the analysis took so far.</param>
    /// <param name="cancellationToken">Passed on to the passes.</param>
    public static HeapSummary Summarize(LiveHeap heap, SummaryOptions options, Func<DominatorTree>? dominators, Func<long> durationMs, CancellationToken cancellationToken)
    {
        var top = Math.Max(1, options.Top);
        var dump = heap.Dump;
        var notes = new List<string> { UnreachableNote(heap) };
        notes.AddRange(heap.Notes);

        var types = TypesByName(dump.Objects.KnownTypes);
        var topByBytes = types.Take(top).ToList();
        var topByCount = types.OrderByDescending(t => t.Count).ThenBy(t => t.Name, StringComparer.Ordinal).Take(top).ToList();
        var retained = RetainedSizes(topByBytes, dominators, notes, cancellationToken);

        var strings = heap.Census.Strings;
        var duplicates = DescribeDuplicates(dump, strings, top);
        if (strings.Uncounted > 0)
        {
            notes.Add(string.Create(
                CultureInfo.InvariantCulture,
                $"Duplicate strings: {strings.Uncounted:N0} strings were not compared because more distinct values than the limit (MaxDistinctStrings) were seen first; the duplicate numbers are a lower bound."));
        }

        return new HeapSummary(
            dump.FileName,
            dump.FileBytes,
            dump.ClrVersion,
            dump.PointerSize,
            CountingModes.Live,
            heap.LiveTotals,
            heap.InHeap,
            types,
            topByBytes,
            topByCount,
            heap.Census.Generations(),
            retained,
            duplicates,
            notes,
            durationMs());
    }

    private static string UnreachableNote(LiveHeap heap)
    {
        var live = heap.LiveTotals;
        return string.Create(
            CultureInfo.InvariantCulture,
            $"Counts are of live objects: reachable from GC roots (static fields, stacks, handles, the finalizer queue), found by a mark pass over the dump. The heap also held {Math.Max(0, heap.InHeap.Objects - live.Objects):N0} unreachable objects ({ByteSize.Format(Math.Max(0, heap.InHeap.Bytes - live.Bytes))}) that no GC had collected yet.");
    }

    /// <summary>Live objects by type name, most bytes first: the same name can have several method tables (one per load context).</summary>
    private static List<TypeStats> TypesByName(IEnumerable<HeapType> knownTypes) =>
        knownTypes
            .Where(t => t.LiveCount > 0)
            .GroupBy(t => t.Name, StringComparer.Ordinal)
            .Select(g => new TypeStats(g.Key, g.Sum(t => t.LiveCount), g.Sum(t => t.LiveBytes)))
            .OrderByDescending(t => t.Bytes)
            .ThenBy(t => t.Name, StringComparer.Ordinal)
            .ToList();

    /// <summary>Retained sizes of the top types; null, with a note saying why, when they are off or over the memory budget.</summary>
    private static IReadOnlyList<TypeRetainedSize>? RetainedSizes(
        IReadOnlyList<TypeStats> topByBytes, Func<DominatorTree>? dominators, List<string> notes, CancellationToken cancellationToken)
    {
        if (dominators is null)
        {
            notes.Add("Retained sizes were not computed: they were turned off.");
            return null;
        }

        try
        {
            return TypeRetention.Compute(dominators(), topByBytes, cancellationToken);
        }
        catch (HeapAnalysisBudgetException ex)
        {
            notes.Add($"Retained sizes were not computed: {ex.Message}");
            return null;
        }
    }

    private static DuplicateStringStats DescribeDuplicates(DumpSession dump, DuplicateStringCounter strings, int top)
    {
        var (wastedBytes, duplicatedValues, best) = strings.Result(top);
        var values = best.Select(d =>
        {
            var text = dump.Heap.GetObject(d.Address).AsString(MaxStringPreviewChars + 1) ?? string.Empty;
            if (text.Length > MaxStringPreviewChars)
            {
                text = string.Concat(text.AsSpan(0, MaxStringPreviewChars), "…");
            }

            return new DuplicateString(text, (int)Math.Min(int.MaxValue, d.Length), d.Count, (long)d.Size, (d.Count - 1) * (long)d.Size);
        }).ToList();
        return new DuplicateStringStats(wastedBytes, duplicatedValues, values);
    }
}
