namespace HeapDiag.Analysis.Internal.Dominators;

/// <summary>
/// Retained bytes per vertex in 4 bytes each instead of 8: object sizes are multiples of the pointer size, so a
/// 32-bit count of pointer-sized units holds up to 32 GiB (on 64-bit); the few vertices above that (near the root of
/// a larger heap) keep their exact size in a small table beside.
/// </summary>
internal sealed class RetainedSizes : IDisposable
{
    private readonly IntArray _units;
    private readonly Dictionary<int, long> _large = [];
    private readonly int _unitShift;

    /// <summary>Sizes in memory, for <paramref name="length"/> vertices.</summary>
    public RetainedSizes(int length, int pointerSize)
        : this(IntArray.InMemory(length), pointerSize)
    {
    }

    /// <summary>Sizes in <paramref name="units"/> (zeroed, one item per vertex), which this takes over.</summary>
    public RetainedSizes(IntArray units, int pointerSize)
    {
        _units = units;
        _unitShift = pointerSize == 8 ? 3 : 2;
    }

    public long this[int vertex] => (uint)_units[vertex] == uint.MaxValue ? _large[vertex] : (long)(uint)_units[vertex] << _unitShift;

    /// <summary>Sets a vertex's own size (a multiple of the pointer size).</summary>
    public void Set(int vertex, long bytes)
    {
        var units = bytes >> _unitShift;
        if (units < uint.MaxValue)
        {
            _units[vertex] = (int)(uint)units;
        }
        else
        {
            _units[vertex] = unchecked((int)uint.MaxValue);
            _large[vertex] = bytes;
        }
    }

    /// <summary>Adds a dominated vertex's retained bytes to its dominator's.</summary>
    public void Add(int vertex, long bytes)
    {
        var current = (uint)_units[vertex];
        var units = bytes >> _unitShift;
        if (current != uint.MaxValue && units < uint.MaxValue - current)
        {
            _units[vertex] = (int)(current + (uint)units);
        }
        else
        {
            Set(vertex, this[vertex] + bytes);
        }
    }

    public void Dispose() => _units.Dispose();
}
