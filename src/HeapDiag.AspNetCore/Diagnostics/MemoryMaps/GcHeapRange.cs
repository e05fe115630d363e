namespace HeapDiag.AspNetCore.Diagnostics.MemoryMaps;

/// <summary>
/// Where the GC heap is among the mappings. With regions (.NET 7 and later, the default) the GC reserves one range of
/// <c>GCRegionRange</c> bytes at start and commits regions inside it; the kernel splits that reservation into many
/// anonymous mappings that stay contiguous. The range is found from an address known to be inside it (a pinned
/// object's, which never moves): the run of contiguous anonymous mappings around that address, cut to the reserved
/// size from the top (mappings made later are placed below it and may touch it). Without regions (segments) each run
/// around a known address counts.
/// </summary>
internal readonly record struct GcHeapRange(ulong Start, ulong End, ulong SecondStart, ulong SecondEnd)
{
    public static GcHeapRange None => default;

    public bool Contains(Mapping mapping) =>
        (mapping.Start >= Start && mapping.End <= End && End > Start)
        || (mapping.Start >= SecondStart && mapping.End <= SecondEnd && SecondEnd > SecondStart);

    /// <param name="mappings">The mappings, by address.</param>
    /// <param name="regionRange">The GC's reserved range in bytes (<c>GCRegionRange</c>); 0 without regions.</param>
    /// <param name="pinnedObject">An address on the pinned object heap.</param>
    /// <param name="largeObject">An address on the large object heap.</param>
    public static GcHeapRange Find(ReadOnlySpan<Mapping> mappings, ulong regionRange, ulong pinnedObject, ulong largeObject)
    {
        var (start, end) = RunAround(mappings, pinnedObject);
        if (end == start)
        {
            return None;
        }

        if (regionRange > 0)
        {
            // Cut to the reserved size from the top, but never above a known address inside.
            var cut = end - start > regionRange ? end - regionRange : start;
            var lowest = Math.Min(pinnedObject, largeObject >= start && largeObject < end ? largeObject : pinnedObject);
            return new GcHeapRange(Math.Min(MappingStart(mappings, cut), MappingStart(mappings, lowest)), end, 0, 0);
        }

        var (largeStart, largeEnd) = RunAround(mappings, largeObject);
        return new GcHeapRange(start, end, largeStart, largeEnd);
    }

    /// <summary>The contiguous run of anonymous mappings that holds <paramref name="address"/>.</summary>
    private static (ulong Start, ulong End) RunAround(ReadOnlySpan<Mapping> mappings, ulong address)
    {
        var index = IndexOf(mappings, address);
        if (index < 0 || !mappings[index].IsAnonymous)
        {
            return (0, 0);
        }

        var low = index;
        while (low > 0 && mappings[low - 1].IsAnonymous && mappings[low - 1].End == mappings[low].Start)
        {
            low--;
        }

        var high = index;
        while (high + 1 < mappings.Length && mappings[high + 1].IsAnonymous && mappings[high + 1].Start == mappings[high].End)
        {
            high++;
        }

        return (mappings[low].Start, mappings[high].End);
    }

    /// <summary>The start of the mapping that holds <paramref name="address"/> (the address itself when none does).</summary>
    private static ulong MappingStart(ReadOnlySpan<Mapping> mappings, ulong address)
    {
        var index = IndexOf(mappings, address);
        return index < 0 ? address : mappings[index].Start;
    }

    private static int IndexOf(ReadOnlySpan<Mapping> mappings, ulong address)
    {
        int low = 0, high = mappings.Length - 1;
        while (low <= high)
        {
            var middle = low + ((high - low) / 2);
            if (address < mappings[middle].Start)
            {
                high = middle - 1;
            }
            else if (address >= mappings[middle].End)
            {
                low = middle + 1;
            }
            else
            {
                return middle;
            }
        }

        return -1;
    }
}
