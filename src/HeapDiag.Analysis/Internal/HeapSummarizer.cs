using System.Diagnostics;
using System.Globalization;
using Microsoft.Diagnostics.Runtime;

namespace HeapDiag.Analysis.Internal;

/// <summary>Builds a <see cref="HeapSummary"/>: roots → mark pass (with the census) → whole-heap totals → retained sizes.</summary>
internal static class HeapSummarizer
{
    private const int CancellationCheckInterval = 100_000;
    private const int MaxStringPreviewChars = 100;

    public static HeapSummary Summarize(DumpSession dump, SummaryOptions options, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        var notes = new List<string>();
        int top = Math.Max(1, options.Top);

        RootSet roots = RootSet.Collect(dump, cancellationToken);
        ObjectBitmap live = dump.CreateObjectBitmap();
        var census = new LiveCensus(dump, live, Math.Max(1, options.MaxDistinctStrings));

        HeapTotals inHeap = MarkWhileCountingAllObjects(dump, roots, live, census, notes, cancellationToken);
        var liveTotals = new HeapTotals(census.Objects, census.Bytes);

        // Types are reported by name: the same name can have several method tables (one per load context).
        var types = dump.Objects.KnownTypes
            .Where(t => t.LiveCount > 0)
            .GroupBy(t => t.Name, StringComparer.Ordinal)
            .Select(g => new TypeStats(g.Key, g.Sum(t => t.LiveCount), g.Sum(t => t.LiveBytes)))
            .OrderByDescending(t => t.Bytes)
            .ThenBy(t => t.Name, StringComparer.Ordinal)
            .ToList();
        var topByBytes = types.Take(top).ToList();
        var topByCount = types.OrderByDescending(t => t.Count).ThenBy(t => t.Name, StringComparer.Ordinal).Take(top).ToList();

        notes.Add(string.Create(
            CultureInfo.InvariantCulture,
            $"Counts are of live objects: reachable from GC roots (static fields, stacks, handles, the finalizer queue), found by a mark pass over the dump. The heap also held {Math.Max(0, inHeap.Objects - liveTotals.Objects):N0} unreachable objects ({ByteSize.Format(Math.Max(0, inHeap.Bytes - liveTotals.Bytes))}) that no GC had collected yet."));
        if (!dump.Heap.CanWalkHeap)
        {
            notes.Add("The dump was written while a garbage collection was running; some objects may have been unreadable and the counts may be incomplete.");
        }

        IReadOnlyList<TypeRetainedSize>? retained = null;
        if (options.MaxObjectsForRetainedSize <= 0)
        {
            notes.Add("Retained sizes were not computed: they are turned off (MaxObjectsForRetainedSize is 0).");
        }
        else if (liveTotals.Objects > options.MaxObjectsForRetainedSize)
        {
            notes.Add(string.Create(
                CultureInfo.InvariantCulture,
                $"Retained sizes were not computed: the heap has {liveTotals.Objects:N0} live objects, more than the limit of {options.MaxObjectsForRetainedSize:N0} (MaxObjectsForRetainedSize), and the dominator tree would need about {ByteSize.Format(liveTotals.Objects * 60)} of memory."));
        }
        else
        {
            retained = RetainedSizeCalculator.ForTypes(dump, roots, live, topByBytes, cancellationToken);
        }

        DuplicateStringStats duplicates = DescribeDuplicates(dump, census.Strings, top);
        if (census.Strings.Uncounted > 0)
        {
            notes.Add(string.Create(
                CultureInfo.InvariantCulture,
                $"Duplicate strings: {census.Strings.Uncounted:N0} strings were not compared because more than {options.MaxDistinctStrings:N0} distinct values (MaxDistinctStrings) were seen first; the duplicate numbers are a lower bound."));
        }

        return new HeapSummary(
            dump.FileName,
            dump.FileBytes,
            dump.ClrVersion,
            dump.PointerSize,
            CountingModes.Live,
            liveTotals,
            inHeap,
            types,
            topByBytes,
            topByCount,
            census.Generations(),
            retained,
            duplicates,
            notes,
            stopwatch.ElapsedMilliseconds);
    }

    /// <summary>
    /// Runs the mark pass and returns the whole-heap totals. The whole-heap walk (ClrMD's, sequential reads) and the
    /// mark pass (ours, reference order) read the dump independently; with a thread-safe reader they run side by side,
    /// so the summary takes about as long as the longer of the two.
    /// </summary>
    private static HeapTotals MarkWhileCountingAllObjects(
        DumpSession dump, RootSet roots, ObjectBitmap live, LiveCensus census, List<string> notes, CancellationToken cancellationToken)
    {
        if (!dump.CanReadConcurrently)
        {
            LiveObjectMarker.Mark(dump, roots, live, census, cancellationToken);
            return CountAllObjects(dump, notes, cancellationToken);
        }

        var walkNotes = new List<string>();
        using var walkCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task<HeapTotals> wholeHeap = Task.Run(() => CountAllObjects(dump, walkNotes, walkCancellation.Token), CancellationToken.None);
        try
        {
            LiveObjectMarker.Mark(dump, roots, live, census, cancellationToken);
        }
        catch
        {
            // The walk must not outlive the dump it reads, which the caller disposes.
            walkCancellation.Cancel();
            ((IAsyncResult)wholeHeap).AsyncWaitHandle.WaitOne();
            throw;
        }

        HeapTotals totals = wholeHeap.GetAwaiter().GetResult();
        notes.AddRange(walkNotes);
        return totals;
    }

    /// <summary>Every object in the heap, live or not yet collected: ClrMD's sequential heap walk.</summary>
    private static HeapTotals CountAllObjects(DumpSession dump, List<string> notes, CancellationToken cancellationToken)
    {
        long objects = 0;
        long bytes = 0;
        long unreadable = 0;
        ulong alignment = (ulong)dump.PointerSize - 1;
        foreach (ClrObject obj in dump.Heap.EnumerateObjects())
        {
            if (++objects % CancellationCheckInterval == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            if (obj.Type is not { } type)
            {
                unreadable++;
                objects--;
                continue;
            }

            if (type.IsFree)
            {
                objects--;
                continue;
            }

            bytes += (long)((obj.Size + alignment) & ~alignment);
        }

        if (unreadable > 0)
        {
            notes.Add(string.Create(
                CultureInfo.InvariantCulture,
                $"{unreadable:N0} places in the heap did not hold a readable object (unknown method table) and were skipped."));
        }

        return new HeapTotals(objects, bytes);
    }

    private static DuplicateStringStats DescribeDuplicates(DumpSession dump, DuplicateStringCounter strings, int top)
    {
        var (wastedBytes, duplicatedValues, best) = strings.Result(top);
        var values = best.Select(d =>
        {
            string text = dump.Heap.GetObject(d.Address).AsString(MaxStringPreviewChars + 1) ?? string.Empty;
            if (text.Length > MaxStringPreviewChars)
            {
                text = string.Concat(text.AsSpan(0, MaxStringPreviewChars), "…");
            }

            return new DuplicateString(text, (int)Math.Min(int.MaxValue, d.Length), d.Count, (long)d.Size, (d.Count - 1) * (long)d.Size);
        }).ToList();
        return new DuplicateStringStats(wastedBytes, duplicatedValues, values);
    }
}
