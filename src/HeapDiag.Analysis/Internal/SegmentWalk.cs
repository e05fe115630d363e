using System.Buffers.Binary;
using Microsoft.Diagnostics.Runtime;

namespace HeapDiag.Analysis.Internal;

/// <summary>
/// Counts the objects of one GC segment straight from the mapped dump, stepping from object to object exactly as
/// ClrMD's heap walk does (its object sizes, alignment and minimum size, the threads' allocation contexts skipped),
/// so the totals are the ones ClrMD's walk gives. It gives up on a segment at anything ClrMD's walk would stop at or a
/// summary would report (a method table it cannot read or resolve, an object running past its segment); the caller
/// then walks that segment with ClrMD, so a damaged segment is counted and reported as before.
/// </summary>
/// <remarks>
/// ClrMD's walk resolves every object's type under a lock and through its own reader; a summary of a 60 M-object heap
/// spent longer in it than in the mark pass beside it. Here a segment is one span of the mapped file and a type is a
/// dictionary hit. One instance per thread (its type cache is not shared).
/// </remarks>
internal sealed class SegmentWalk(ClrHeap heap, MappedDump mapped, int pointerSize)
{
    private const int CancellationCheckInterval = 100_000;

    private readonly Dictionary<ulong, ClrType?> _types = [];
    private readonly Dictionary<ulong, ulong> _allocationContexts = heap.EnumerateAllocationContexts().ToDictionary(c => c.Start, c => c.End);
    private readonly ClrType? _stringType = heap.StringType;
    private readonly ulong _minObjectSize = (ulong)pointerSize * 3;

    /// <summary>
    /// The segment's objects (free space left out) and their bytes, each size aligned to a pointer, and the address of
    /// its first object (0 when it has none); false if the segment is irregular.
    /// </summary>
    public bool TryCount(ClrSegment segment, out HeapTotals totals, out ulong first, CancellationToken cancellationToken)
    {
        totals = new HeapTotals(0, 0);
        first = 0;
        var range = segment.ObjectRange;
        var span = range.Length > int.MaxValue ? default : mapped.TryGetSpan(range.Start, (int)range.Length);
        if (span.IsEmpty)
        {
            return range.Length == 0;
        }

        long objects = 0;
        long bytes = 0;
        var pointerMask = (ulong)pointerSize - 1;
        var address = segment.FirstObjectAddress;
        var start = range.Contains(address) ? address : 0;
        while (range.Contains(address))
        {
            if (++objects % CancellationCheckInterval == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var offset = (int)(address - range.Start);
            if (!TryReadSize(span, offset, out var type, out var size) || size > segment.End - address)
            {
                return false;
            }

            if (type.IsFree)
            {
                objects--;
            }
            else
            {
                bytes += (long)((size + pointerMask) & ~pointerMask);
            }

            address = SkipAllocationContext(segment, address + StepSize(segment, size));
        }

        totals = new HeapTotals(objects, bytes);
        first = start;
        return true;
    }

    /// <summary>The object's type and its size as ClrMD reports it (the string terminator counted, at least three pointers).</summary>
    private bool TryReadSize(ReadOnlySpan<byte> span, int offset, out ClrType type, out ulong size)
    {
        type = null!;
        size = 0;
        if (offset > span.Length - pointerSize - sizeof(uint)
            || Resolve(BinaryPrimitives.ReadUInt64LittleEndian(span[offset..])) is not { } resolved)
        {
            return false;
        }

        type = resolved;
        size = (ulong)type.StaticSize;
        if (type.ComponentSize != 0)
        {
            ulong count = BinaryPrimitives.ReadUInt32LittleEndian(span[(offset + pointerSize)..]);
            if (type == _stringType)
            {
                count++;
            }

            size += count * (ulong)type.ComponentSize;
        }

        size = Math.Max(size, _minObjectSize);
        return true;
    }

    private ClrType? Resolve(ulong methodTable)
    {
        if (!_types.TryGetValue(methodTable, out var type))
        {
            type = methodTable == 0 ? null : heap.GetTypeByMethodTable(methodTable);
            _types[methodTable] = type;
        }

        return type;
    }

    /// <summary>How far ClrMD's walk steps: the size aligned (to 8 bytes on the large and pinned heaps), at least three pointers.</summary>
    private ulong StepSize(ClrSegment segment, ulong size)
    {
        var alignMask = segment.Kind is GCSegmentKind.Large or GCSegmentKind.Pinned ? 7UL : (ulong)pointerSize - 1;
        return Math.Max((size + alignMask) & ~alignMask, _minObjectSize);
    }

    /// <summary>Past the unallocated end of a thread's allocation context, as ClrMD's walk does; 0 (ending the walk) where they make no sense.</summary>
    private ulong SkipAllocationContext(ClrSegment segment, ulong address)
    {
        if (segment.Kind is GCSegmentKind.Large or GCSegmentKind.Frozen)
        {
            return address;
        }

        while (_allocationContexts.TryGetValue(address, out var next))
        {
            next += StepSize(segment, _minObjectSize);
            if (address >= next || next >= segment.End)
            {
                return 0;
            }

            address = next;
        }

        return address;
    }
}
