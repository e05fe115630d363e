using System.Globalization;
using Microsoft.Diagnostics.Runtime;

namespace HeapDiag.Analysis.Internal;

/// <summary>
/// What the mark pass may trust in a dump that a disk, a copy or a transfer damaged: an object must start at a pointer
/// boundary inside the heap's ranges, have a method table that resolves, and end within its own range; a reference
/// must land in the heap. What fails is left out and counted, so no total can exceed the heap's ranges; past
/// <see cref="HeapDamage.LimitPercent"/> the analysis refuses (<see cref="HeapDumpDamagedException"/>) rather than
/// report numbers built on guesswork.
/// </summary>
/// <remarks>
/// Kept apart from the passes so they stay fast and readable: each check is one call at the place the pass reads an
/// object. Used by one thread (the mark pass); the whole-heap walk on the other thread has its own
/// <see cref="HeapWalkCheck"/>.
/// </remarks>
internal sealed class HeapIntegrity
{
    // One address per skipped object, cleared from the live bitmap after the pass; a dump with more than this is
    // damaged far past the limit of any heap that fits in memory, so the analysis stops rather than keep counting.
    private const int MaxSkippedKept = 4_000_000;

    private readonly HeapRanges _ranges;
    private readonly ulong _alignmentMask;
    private readonly List<ulong> _skipped = [];

    public HeapIntegrity(IReadOnlyList<ClrSegment> segments, int pointerSize)
    {
        _ranges = new HeapRanges(segments);
        _alignmentMask = (ulong)pointerSize - 1;
    }

    /// <summary>A check for the whole-heap walk (another thread), over the same ranges.</summary>
    public HeapWalkCheck CreateWalkCheck() => new(_ranges);

    public long ReferencesDropped { get; private set; }

    /// <summary>The object at <paramref name="address"/> has no method table that resolves: left out and counted.</summary>
    public void Skip(ulong address)
    {
        _skipped.Add(address);
        if (_skipped.Count > MaxSkippedKept)
        {
            var damage = new HeapDamage(_skipped.Count, ReferencesDropped, 0, _ranges.TotalBytes);
            throw new HeapDumpDamagedException(damage, $"more than {MaxSkippedKept:N0} objects could not be read ({damage.Describe()})");
        }
    }

    /// <summary>Whether an object of <paramref name="size"/> bytes at <paramref name="address"/> starts at a pointer boundary and ends within its range; if not, it is skipped.</summary>
    public bool Accepts(ulong address, ulong size)
    {
        if ((address & _alignmentMask) == 0 && _ranges.Contains(address, size))
        {
            return true;
        }

        Skip(address);
        return false;
    }

    /// <summary>A reference that lands outside every heap range was not followed.</summary>
    public void Dropped() => ReferencesDropped++;

    /// <summary>Clears the skipped objects from the live set, so no later pass reads them as objects.</summary>
    public void ForgetSkipped(ObjectBitmap live)
    {
        foreach (var address in _skipped)
        {
            live.Clear(address);
        }
    }

    /// <summary>
    /// The damage found, or null when there was none; throws <see cref="HeapDumpDamagedException"/> when it is past
    /// <see cref="HeapDamage.LimitPercent"/> of reachable objects or references, or a total exceeds the heap's ranges.
    /// A dump written while a garbage collection was running (<paramref name="gcInProgress"/>) is never refused for
    /// unreadable objects: objects being moved look damaged, and the report says the counts may be incomplete instead.
    /// </summary>
    public HeapDamage? Assess(HeapTotals live, HeapTotals? inHeap, long edges, HeapWalkCheck walk, bool gcInProgress)
    {
        // Unreadable bytes are reported but do not decide: ClrMD's walk does not find its footing again after a broken
        // object, so one bad word costs the rest of its region there, while the live numbers lose only that object.
        var damage = new HeapDamage(_skipped.Count, ReferencesDropped, walk.BytesUnreadable, _ranges.TotalBytes);
        var reason = gcInProgress ? null
            : Exceeds(damage.ObjectsSkipped, live.Objects + damage.ObjectsSkipped) ? "reachable objects"
            : Exceeds(damage.ReferencesDropped, edges + damage.ReferencesDropped) ? "references"
            : null;
        if (reason is not null)
        {
            throw new HeapDumpDamagedException(damage, string.Create(CultureInfo.InvariantCulture,
                $"more than {HeapDamage.LimitPercent:0.#} % of its {reason} could not be read ({damage.Describe()}); a report would mislead"));
        }

        if (Math.Max(live.Bytes, inHeap?.Bytes ?? 0) > damage.HeapBytes)
        {
            throw new HeapDumpDamagedException(damage, string.Create(CultureInfo.InvariantCulture,
                $"its objects add up to {Math.Max(live.Bytes, inHeap?.Bytes ?? 0):N0} bytes, more than the {damage.HeapBytes:N0} bytes of the heap's ranges ({damage.Describe()})"));
        }

        return damage.Any ? damage : null;
    }

    /// <summary>The sentence a report shows beside numbers built on a damaged heap.</summary>
    public static string Note(HeapDamage damage) => string.Create(CultureInfo.InvariantCulture,
        $"The dump is damaged: {damage.Describe()}. What could not be read is left out of every number (see damage): live numbers lack the skipped objects and what only they reached, in-heap totals the unreadable bytes. Past {HeapDamage.LimitPercent:0.#} % of reachable objects or references the dump is refused instead.");

    private static bool Exceeds(long damaged, long total) => damaged > 0 && damaged * 100.0 > HeapDamage.LimitPercent * Math.Max(1, total);
}

/// <summary>
/// Follows ClrMD's whole-heap walk and adds up the bytes where it found no readable object: from the first unreadable
/// place to the next readable object (or the end of the range), and an object whose size runs past its range counts
/// as unreadable to the end of the range, because that is where the walk goes next.
/// </summary>
internal sealed class HeapWalkCheck
{
    private readonly HeapRanges _ranges;
    private int _gapRange = -1;
    private ulong _gapStart;

    public HeapWalkCheck(HeapRanges ranges) => _ranges = ranges;

    public long BytesUnreadable { get; private set; }

    /// <summary>Whether the walked object can be counted; false (and counted as unreadable) when it has no type or runs past its range.</summary>
    public bool Readable(ulong address, ulong size, bool hasType)
    {
        if (hasType && _ranges.Contains(address, size))
        {
            CloseGap(address);
            return true;
        }

        if (_gapRange < 0 && _ranges.Find(address) is var range and >= 0)
        {
            (_gapRange, _gapStart) = (range, address);
        }

        if (hasType)
        {
            // The walk jumps past the range: everything from here to its end is unread.
            CloseGap(ulong.MaxValue);
        }

        return false;
    }

    /// <summary>Closes a gap still open when the walk ended.</summary>
    public void Finish() => CloseGap(ulong.MaxValue);

    private void CloseGap(ulong nextReadable)
    {
        if (_gapRange < 0)
        {
            return;
        }

        var end = _ranges.End(_gapRange);
        var stop = nextReadable > _gapStart && nextReadable < end ? nextReadable : end;
        BytesUnreadable += (long)(stop - _gapStart);
        _gapRange = -1;
    }
}

/// <summary>The heap's object ranges (segments or regions, start to allocated end), by start address.</summary>
internal sealed class HeapRanges
{
    private readonly ulong[] _starts;
    private readonly ulong[] _ends;

    public HeapRanges(IReadOnlyList<ClrSegment> segments)
    {
        var sorted = segments.Where(s => s.End > s.Start).OrderBy(s => s.Start).ToArray();
        _starts = [.. sorted.Select(s => s.Start)];
        _ends = [.. sorted.Select(s => s.End)];
        TotalBytes = sorted.Sum(s => (long)(s.End - s.Start));
    }

    public long TotalBytes { get; }

    public ulong End(int range) => _ends[range];

    /// <summary>The range holding <paramref name="address"/>, or −1.</summary>
    public int Find(ulong address) => RangeSearch.Find(_starts, _ends, address);

    /// <summary>Whether [<paramref name="address"/>, + <paramref name="size"/>) lies in one range (a size of 0 never does).</summary>
    public bool Contains(ulong address, ulong size) =>
        size > 0 && Find(address) is var range and >= 0 && size <= _ends[range] - address;
}
