using System.Numerics;
using System.Runtime.CompilerServices;

namespace HeapDiag.Analysis.Internal;

/// <summary>
/// One bit per possible object address of the GC heap: bit <c>(address − segment start) / 8</c> of the segment's
/// bitmap. Marks which objects a pass has reached, at 1/64 of the heap size (16 MB for a 1 GB heap) where a
/// <c>HashSet&lt;ulong&gt;</c> would cost ~40 bytes per object.
/// </summary>
/// <remarks>
/// After <see cref="BuildIndex"/> every set bit also gets a dense number (its rank, 0 … <see cref="Count"/> − 1) so
/// per-object data (parents for retention paths, the dominator tree) can live in plain arrays indexed by object.
/// </remarks>
internal sealed class ObjectBitmap
{
    // Objects are at least pointer-aligned; 8 is the alignment on 64-bit, and on 32-bit objects at 4-byte boundaries
    // never start closer than 12 bytes apart, so two objects never share a bit.
    private const int BytesPerBit = 8;

    private readonly ulong[] _starts;
    private readonly ulong[] _ends;

    // One array of words for all ranges (range r's are from _firstWord[r] on), so that it can be on huge pages: a
    // regions heap has thousands of 4 MiB regions, each a few KiB of bitmap.
    private readonly int[] _firstWord;
    private readonly ulong[] _words;
    private int _lastRange;

    // After BuildIndex: set bits before each word within its range, and before each range.
    private int[]? _rankBeforeWord;
    private long[]? _rankBeforeRange;

    /// <param name="ranges">Address ranges objects can be in (the GC segments), not overlapping, in any order.</param>
    public ObjectBitmap(IEnumerable<(ulong Start, ulong End)> ranges)
    {
        var sorted = ranges.Where(r => r.End > r.Start).OrderBy(r => r.Start).ToArray();
        _starts = sorted.Select(r => r.Start).ToArray();
        _ends = sorted.Select(r => r.End).ToArray();
        _firstWord = new int[sorted.Length + 1];
        long words = 0;
        for (var range = 0; range < sorted.Length; range++)
        {
            _firstWord[range] = checked((int)words);
            words += (long)((((sorted[range].End - sorted[range].Start) / BytesPerBit) + 64) / 64);
        }

        _firstWord[sorted.Length] = checked((int)words);
        _words = MemoryPages.AllocateOnHugePages<ulong>((int)words);
    }

    /// <summary>Number of set bits.</summary>
    public long Count { get; private set; }

    /// <summary>The range that holds <paramref name="address"/>, or −1.</summary>
    public int FindRange(ulong address) => RangeSearch.Find(_starts, _ends, address, ref _lastRange);

    /// <summary>
    /// Sets the bit for <paramref name="address"/>; false if it was set already or the address is in no range.
    /// <paramref name="inRange"/> tells the two apart.
    /// </summary>
    public bool TrySet(ulong address, out bool inRange)
    {
        ref var word = ref WordOf(address, out var mask);
        inRange = !Unsafe.IsNullRef(ref word);
        if (!inRange || (word & mask) != 0)
        {
            return false;
        }

        word |= mask;
        Count++;
        return true;
    }

    /// <summary>Whether the bit for <paramref name="address"/> is set; <paramref name="inRange"/> says whether the address is in a range at all.</summary>
    public bool Contains(ulong address, out bool inRange)
    {
        ref var word = ref WordOf(address, out var mask);
        inRange = !Unsafe.IsNullRef(ref word);
        return inRange && (word & mask) != 0;
    }

    /// <summary>Clears the bit for <paramref name="address"/> (an object the pass could not read after all). Call before <see cref="BuildIndex"/>.</summary>
    public void Clear(ulong address)
    {
        ref var word = ref WordOf(address, out var mask);
        if (!Unsafe.IsNullRef(ref word) && (word & mask) != 0)
        {
            word &= ~mask;
            Count--;
        }
    }

    /// <summary>Set addresses in ascending order.</summary>
    public IEnumerable<ulong> EnumerateSet()
    {
        for (var range = 0; range < _starts.Length; range++)
        {
            for (var w = _firstWord[range]; w < _firstWord[range + 1]; w++)
            {
                var word = _words[w];
                while (word != 0)
                {
                    var bit = BitOperations.TrailingZeroCount(word);
                    word &= word - 1;
                    yield return AddressOf(range, w, bit);
                }
            }
        }
    }

    /// <summary>Computes the dense numbering used by <see cref="IndexOf"/> and <see cref="AddressAt"/>. Call after the last <c>TrySet</c>.</summary>
    public void BuildIndex()
    {
        var rankBeforeWord = MemoryPages.AllocateOnHugePages<int>(_words.Length);
        _rankBeforeRange = new long[_starts.Length + 1];
        long total = 0;
        for (var range = 0; range < _starts.Length; range++)
        {
            _rankBeforeRange[range] = total;
            var inRange = 0;
            for (var w = _firstWord[range]; w < _firstWord[range + 1]; w++)
            {
                rankBeforeWord[w] = inRange;
                inRange += BitOperations.PopCount(_words[w]);
            }

            total += inRange;
        }

        _rankBeforeRange[_starts.Length] = total;
        _rankBeforeWord = rankBeforeWord;
    }

    /// <summary>Dense number of a set address (0 … <see cref="Count"/> − 1), or −1 if its bit is not set.</summary>
    public long IndexOf(ulong address)
    {
        var range = FindRange(address);
        if (range < 0)
        {
            return -1;
        }

        var bit = (address - _starts[range]) / BytesPerBit;
        var wordIndex = _firstWord[range] + (int)(bit / 64);
        var word = _words[wordIndex];
        var mask = 1UL << (int)(bit % 64);
        if ((word & mask) == 0)
        {
            return -1;
        }

        return _rankBeforeRange![range] + _rankBeforeWord![wordIndex] + BitOperations.PopCount(word & (mask - 1));
    }

    /// <summary>The address with dense number <paramref name="index"/> (inverse of <see cref="IndexOf"/>).</summary>
    public ulong AddressAt(long index)
    {
        // Range r holds ranks [rankBeforeRange[r], rankBeforeRange[r + 1]); empty ranges repeat the next rank,
        // so the holder is the last range whose first rank is at or below index. The same goes for words.
        var range = LastAtOrBelow(_rankBeforeRange.AsSpan(0, _starts.Length), index);
        var inRange = (int)(index - _rankBeforeRange![range]);
        var first = _firstWord[range];
        var wordIndex = first + LastAtOrBelow(_rankBeforeWord.AsSpan(first, _firstWord[range + 1] - first), inRange);

        var word = _words[wordIndex];
        for (var skip = inRange - _rankBeforeWord![wordIndex]; skip > 0; skip--)
        {
            word &= word - 1;
        }

        return AddressOf(range, wordIndex, BitOperations.TrailingZeroCount(word));
    }

    private ulong AddressOf(int range, int wordIndex, int bit) =>
        _starts[range] + ((((ulong)(wordIndex - _firstWord[range]) * 64) + (ulong)bit) * BytesPerBit);

    /// <summary>The word that holds the bit of <paramref name="address"/>, and the bit's mask; a null reference when the address is in no range.</summary>
    private ref ulong WordOf(ulong address, out ulong mask)
    {
        var range = FindRange(address);
        if (range < 0)
        {
            mask = 0;
            return ref Unsafe.NullRef<ulong>();
        }

        var bit = (address - _starts[range]) / BytesPerBit;
        mask = 1UL << (int)(bit % 64);
        return ref _words[_firstWord[range] + (int)(bit / 64)];
    }

    private static int LastAtOrBelow<T>(ReadOnlySpan<T> ascending, T value)
        where T : IComparable<T>
    {
        var low = 0;
        var high = ascending.Length;
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            if (ascending[middle].CompareTo(value) <= 0)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low - 1;
    }
}
