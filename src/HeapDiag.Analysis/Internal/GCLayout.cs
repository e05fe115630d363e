using System.Buffers.Binary;

namespace HeapDiag.Analysis.Internal;

/// <summary>
/// Which slots of an object hold references, as the GC's own descriptor (the <c>CGCDesc</c> stored just before every
/// method table that contains pointers) says. Read once per method table, then applied to every object of it.
/// </summary>
/// <remarks>
/// ClrMD parses the same descriptor (<c>GCDesc.WalkObject</c>), but over a copy of each object and through an
/// iterator allocated per object; for the mark pass over tens of millions of objects the copy and the allocation cost
/// more than the walk itself. Layout, from the runtime's gcdesc.h (p = pointer size, MT = method table address):
/// <list type="bullet">
/// <item>MT − p: the number of series n, a signed pointer-sized integer.</item>
/// <item>n &gt; 0: series i (0 = highest) at MT − 3p − 2p·i: a size, then an offset. Slots run from the offset to
/// offset + size + object size (the size is stored minus the base size, so arrays scale with their length).</item>
/// <item>n &lt; 0 (arrays of structs): the start offset at MT − 2p, then −n items at MT − 3p − p·i, each a half-pointer
/// count of reference slots and a half-pointer number of bytes to skip, repeated until the end of the array.</item>
/// </list>
/// </remarks>
internal sealed class GCLayout
{
    // Objects the walk reads are at most int.MaxValue bytes (HeapObjects copies them into a span).
    private const long MaxOffset = int.MaxValue;

    private readonly (long Offset, long Size)[] _series;
    private readonly (uint References, uint Skip)[] _repeating;
    private readonly long _repeatingStart;

    private GCLayout((long Offset, long Size)[] series, (uint References, uint Skip)[] repeating, long repeatingStart)
    {
        _series = series;
        _repeating = repeating;
        _repeatingStart = repeatingStart;
    }

    /// <summary>
    /// Reads the descriptor of <paramref name="methodTable"/>; null if it is unreadable or implausible, which in a
    /// damaged dump it can be: every offset must point past the method table and fit in an object.
    /// </summary>
    /// <remarks>
    /// Checked here once per method table rather than per object, because the walk trusts what it is given: a damaged
    /// word that turns an offset negative would have it step from −2⁶³ towards the object one slot at a time, which
    /// never ends in practice (seen in the fuzz suite as an analyzer that ran into Analysis:Timeout).
    /// </remarks>
    public static GCLayout? Read(HeapMemory memory, ulong methodTable)
    {
        var p = memory.PointerSize;
        var count = ReadSigned(memory, methodTable - (ulong)p);

        // A real type has a handful of series; anything huge means the memory is not a descriptor.
        const long MaxSeries = 1 << 16;
        if (count > 0 && count <= MaxSeries)
        {
            var series = new (long Offset, long Size)[count];
            for (var i = 0; i < count; i++)
            {
                var at = methodTable - (ulong)(3 * p) - (ulong)(2 * p * i);
                series[i] = (ReadSigned(memory, at + (ulong)p), ReadSigned(memory, at));
                if (!IsOffset(series[i].Offset, p) || series[i].Size is < -MaxOffset or > MaxOffset)
                {
                    return null;
                }
            }

            return new GCLayout(series, [], 0);
        }

        var start = ReadSigned(memory, methodTable - (ulong)(2 * p));
        if (count < 0 && count >= -MaxSeries && IsOffset(start, p))
        {
            var items = new (uint References, uint Skip)[-count];
            for (var i = 0; i < items.Length; i++)
            {
                var at = methodTable - (ulong)(3 * p) - (ulong)(p * i);
                items[i] = p == 8
                    ? (memory.ReadUInt32(at), memory.ReadUInt32(at + 4))
                    : ((uint)(memory.ReadUInt32(at) & 0xFFFF), (uint)(memory.ReadUInt32(at) >> 16));
            }

            return new GCLayout([], items, start);
        }

        return null;
    }

    /// <summary>
    /// Calls the visitor for each non-null reference in <paramref name="bytes"/>, the object's bytes from its address
    /// (<paramref name="size"/> long), until the visitor asks to stop.
    /// </summary>
    public void Walk<TVisitor>(ReadOnlySpan<byte> bytes, long size, int pointerSize, ref TVisitor visitor)
        where TVisitor : struct, IReferenceVisitor
    {
        if (_series.Length > 0)
        {
            foreach ((var offset, var seriesSize) in _series)
            {
                var stop = Math.Min(offset + seriesSize + size, bytes.Length - pointerSize + 1);
                for (var slot = offset; slot < stop; slot += pointerSize)
                {
                    if (!VisitSlot(bytes, slot, pointerSize, ref visitor))
                    {
                        return;
                    }
                }
            }

            return;
        }

        // Arrays of structs: the item pattern repeats for each element up to the end of the object (whose size
        // includes the header word of the next object, hence the − pointer size).
        var position = _repeatingStart;
        var end = Math.Min(size - pointerSize, bytes.Length - pointerSize + 1);
        while (position < end)
        {
            var before = position;
            foreach ((var references, var skip) in _repeating)
            {
                var stop = position + (references * (long)pointerSize);
                do
                {
                    if (position < end && !VisitSlot(bytes, position, pointerSize, ref visitor))
                    {
                        return;
                    }

                    position += pointerSize;
                }
                while (position < stop);

                position += skip;
            }

            if (position <= before)
            {
                return;
            }
        }
    }

    private static bool VisitSlot<TVisitor>(ReadOnlySpan<byte> bytes, long slot, int pointerSize, ref TVisitor visitor)
        where TVisitor : struct, IReferenceVisitor
    {
        if (slot < 0)
        {
            return true;
        }

        var reference = pointerSize == 8
            ? BinaryPrimitives.ReadUInt64LittleEndian(bytes[(int)slot..])
            : BinaryPrimitives.ReadUInt32LittleEndian(bytes[(int)slot..]);
        return reference == 0 || visitor.Visit(reference, (int)slot);
    }

    /// <summary>Whether <paramref name="offset"/> can be a reference slot's: past the method table, inside an object.</summary>
    private static bool IsOffset(long offset, int pointerSize) => offset >= pointerSize && offset <= MaxOffset;

    private static long ReadSigned(HeapMemory memory, ulong address) =>
        memory.PointerSize == 8 ? (long)memory.ReadPointer(address) : (int)memory.ReadPointer(address);
}
