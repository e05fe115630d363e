using System.Globalization;
using Microsoft.Diagnostics.Runtime;

namespace HeapDiag.Analysis.Internal;

/// <summary>
/// A sequential walk of every object in the heap, live or not yet collected: the whole-heap totals a summary reports,
/// as ClrMD's walk counts them. Each segment is counted from the mapped dump (<see cref="SegmentWalk"/>), or by ClrMD's
/// walk where that gives up. With a thread-safe reader it runs on another thread beside the mark pass, so the two take
/// about as long as the longer of them; otherwise it runs when <see cref="Finish"/> asks for its result.
/// </summary>
/// <remarks>
/// It starts after the roots are read: ClrMD resolves the type of every GC handle's object, and of every object its
/// own walk meets, under one lock, and a walk by ClrMD started beside the handles made both slower (a 60 M-object
/// summary took 24 s instead of 20 s).
/// </remarks>
internal sealed class WholeHeapWalk : IDisposable
{
    private const int CancellationCheckInterval = 100_000;

    private readonly DumpSession _dump;
    private readonly HeapWalkCheck _check;
    private readonly List<string> _notes = [];
    private readonly CancellationTokenSource _cancellation;
    private readonly Task<HeapTotals>? _running;

    private WholeHeapWalk(DumpSession dump, HeapWalkCheck check, CancellationToken cancellationToken)
    {
        _dump = dump;
        _check = check;
        _cancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (dump.CanReadConcurrently)
        {
            var token = _cancellation.Token;
            _running = Task.Run(() => Count(dump, check, _notes, token), CancellationToken.None);
        }
    }

    /// <summary>Starts the walk (on another thread when the reader allows).</summary>
    public static WholeHeapWalk Start(DumpSession dump, HeapWalkCheck check, CancellationToken cancellationToken) =>
        new(dump, check, cancellationToken);

    /// <summary>The totals, once the walk is done; what it had to say is added to <paramref name="notes"/>.</summary>
    public HeapTotals Finish(List<string> notes)
    {
        var totals = _running is null ? Count(_dump, _check, _notes, _cancellation.Token) : _running.GetAwaiter().GetResult();
        notes.AddRange(_notes);
        return totals;
    }

    /// <summary>Stops a walk still running and waits for it: it must not outlive the dump it reads, which the caller disposes.</summary>
    public void Dispose()
    {
        if (_running is { IsCompleted: false })
        {
            _cancellation.Cancel();
            ((IAsyncResult)_running).AsyncWaitHandle.WaitOne();
        }

        _cancellation.Dispose();
    }

    /// <summary>
    /// Every object in the heap, live or not yet collected, on this thread: each segment from the mapped dump where it
    /// is regular, else with ClrMD's walk (<paramref name="clrmdOnly"/>: every segment with ClrMD).
    /// </summary>
    public static HeapTotals Count(DumpSession dump, HeapWalkCheck check, List<string> notes, CancellationToken cancellationToken, bool clrmdOnly = false)
    {
        var fast = dump.Mapped is { } mapped && !clrmdOnly ? new SegmentWalk(dump.Heap, mapped, dump.PointerSize) : null;
        var tally = new Tally();
        foreach (var segment in dump.Heap.Segments)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (fast is not null && fast.TryCount(segment, out var totals, out var first, cancellationToken))
            {
                // The segment's first object closes a gap the walk left open in an earlier one, as in ClrMD's walk.
                if (first != 0)
                {
                    check.Readable(first, 1, hasType: true);
                }

                tally.Objects += totals.Objects;
                tally.Bytes += totals.Bytes;
            }
            else
            {
                CountWithClrMD(dump, segment, check, tally, cancellationToken);
            }
        }

        check.Finish();
        if (tally.Unreadable > 0)
        {
            notes.Add(string.Create(
                CultureInfo.InvariantCulture,
                $"{tally.Unreadable:N0} places in the heap did not hold a readable object (unknown method table) and were skipped."));
        }

        return new HeapTotals(tally.Objects, tally.Bytes);
    }

    private static void CountWithClrMD(DumpSession dump, ClrSegment segment, HeapWalkCheck check, Tally tally, CancellationToken cancellationToken)
    {
        var alignment = (ulong)dump.PointerSize - 1;
        long seen = 0;
        foreach (var obj in dump.Heap.EnumerateObjects(segment.ObjectRange, carefully: false))
        {
            if (++seen % CancellationCheckInterval == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            if (!check.Readable(obj.Address, obj.Type is null ? 0 : obj.Size, obj.Type is not null))
            {
                tally.Unreadable++;
                continue;
            }

            if (!obj.Type!.IsFree)
            {
                tally.Objects++;
                tally.Bytes += (long)((obj.Size + alignment) & ~alignment);
            }
        }
    }

    private sealed class Tally
    {
        public long Objects { get; set; }

        public long Bytes { get; set; }

        public long Unreadable { get; set; }
    }
}
