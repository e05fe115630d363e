using System.Buffers.Binary;
using Microsoft.Diagnostics.Runtime;

namespace HeapDiag.Analysis.Internal;

/// <summary>
/// Reads the dumped process's memory through a small, fixed-size cache of 64 KiB pages.
/// </summary>
/// <remarks>
/// An ELF core is mapped (<see cref="MappedDump"/>) and read in place; the cache serves what the mapping does not
/// cover (a Windows minidump, a region missing from the core). ClrMD's own heap walk reads segments in large
/// sequential blocks and is fast, but a mark pass touches objects in reference order, one small read at a time; sent
/// straight to the dump reader that took over two minutes for 24 M objects on the build machine. Objects allocated
/// together sit together, so a cache of a few hundred pages serves almost every read from memory.
/// </remarks>
internal sealed class HeapMemory
{
    private const int PageShift = 16;
    private const int PageSize = 1 << PageShift;
    private const ulong PageOffsetMask = PageSize - 1;
    private const ulong NoPage = ulong.MaxValue;

    private readonly IDataReader _reader;
    private readonly MappedDump? _mapped;
    private readonly byte[]?[] _pages;
    private readonly ulong[] _pageNumbers;
    private readonly int[] _validBytes;
    private readonly bool[] _recentlyUsed;
    private readonly Dictionary<ulong, int> _slotByPage;
    private int _clockHand;
    private int _lastSlot = -1;
    private ulong _lastPageNumber = NoPage;

    /// <param name="reader">ClrMD's reader of the dump.</param>
    /// <param name="mapped">The dump mapped into memory, read first where it covers an address; null to read through the cache only.</param>
    /// <param name="pointerSize">Pointer size of the dumped process.</param>
    /// <param name="cacheBytes">Bytes of pages the cache keeps for what the mapping does not cover.</param>
    public HeapMemory(IDataReader reader, MappedDump? mapped, int pointerSize, int cacheBytes)
    {
        _reader = reader;
        _mapped = mapped;
        PointerSize = pointerSize;
        var slots = Math.Max(8, cacheBytes / PageSize);
        _pages = new byte[slots][];
        _pageNumbers = new ulong[slots];
        Array.Fill(_pageNumbers, NoPage);
        _validBytes = new int[slots];
        _recentlyUsed = new bool[slots];
        _slotByPage = new Dictionary<ulong, int>(slots);
    }

    /// <summary>Pointer size of the dumped process (4 or 8).</summary>
    public int PointerSize { get; }

    /// <summary>Reads a pointer-sized value; 0 where the memory is not in the dump.</summary>
    public ulong ReadPointer(ulong address)
    {
        if (PointerSize == 8)
        {
            var bytes = GetSpan(address, 8, stackalloc byte[8]);
            return bytes.Length == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(bytes) : 0;
        }

        return ReadUInt32(address);
    }

    /// <summary>Reads a 32-bit value; 0 where the memory is not in the dump.</summary>
    public uint ReadUInt32(ulong address)
    {
        var bytes = GetSpan(address, 4, stackalloc byte[4]);
        return bytes.Length == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(bytes) : 0;
    }

    /// <summary>Copies memory into <paramref name="destination"/>; returns how many bytes could be read.</summary>
    public int Read(ulong address, Span<byte> destination)
    {
        var mapped = _mapped is null ? default : _mapped.TryGetSpan(address, destination.Length);
        if (!mapped.IsEmpty)
        {
            mapped.CopyTo(destination);
            return destination.Length;
        }

        // Large blocks (big arrays) would only flush the cache: read them directly.
        if (destination.Length >= 4 * PageSize)
        {
            return _reader.Read(address, destination);
        }

        var copied = 0;
        while (copied < destination.Length)
        {
            var current = address + (ulong)copied;
            var slot = SlotFor(current >> PageShift);
            var offset = (int)(current & PageOffsetMask);
            var available = _validBytes[slot] - offset;
            if (available <= 0)
            {
                // The page is only partly in the dump; ask the reader for exactly what is missing.
                return copied + _reader.Read(current, destination[copied..]);
            }

            var count = Math.Min(available, destination.Length - copied);
            _pages[slot].AsSpan(offset, count).CopyTo(destination[copied..]);
            copied += count;
            if (offset + count < PageSize && copied < destination.Length)
            {
                return copied + _reader.Read(address + (ulong)copied, destination[copied..]);
            }
        }

        return copied;
    }

    /// <summary>
    /// A view straight into the cache of <paramref name="length"/> bytes at <paramref name="address"/>, valid until the
    /// next read; empty unless all of them lie in one cached page (the caller then copies with <see cref="Read"/>).
    /// </summary>
    public ReadOnlySpan<byte> TryGetSpan(ulong address, int length)
    {
        var mapped = _mapped is null ? default : _mapped.TryGetSpan(address, length);
        if (!mapped.IsEmpty)
        {
            return mapped;
        }

        var offset = (int)(address & PageOffsetMask);
        if (offset + length > PageSize)
        {
            return default;
        }

        var slot = SlotFor(address >> PageShift);
        return _validBytes[slot] - offset >= length ? _pages[slot].AsSpan(offset, length) : default;
    }

    /// <summary>
    /// A view of <paramref name="length"/> bytes at <paramref name="address"/>: straight into the cache when they lie in
    /// one page, otherwise copied into <paramref name="scratch"/>. Shorter than asked where memory is missing.
    /// </summary>
    private ReadOnlySpan<byte> GetSpan(ulong address, int length, Span<byte> scratch)
    {
        var mapped = _mapped is null ? default : _mapped.TryGetSpan(address, length);
        if (!mapped.IsEmpty)
        {
            return mapped;
        }

        var offset = (int)(address & PageOffsetMask);
        if (offset + length <= PageSize)
        {
            var slot = SlotFor(address >> PageShift);
            var available = Math.Max(0, Math.Min(length, _validBytes[slot] - offset));
            if (available == length)
            {
                return _pages[slot].AsSpan(offset, length);
            }
        }

        var read = Read(address, scratch[..length]);
        return scratch[..read];
    }

    private int SlotFor(ulong pageNumber)
    {
        if (pageNumber == _lastPageNumber)
        {
            return _lastSlot;
        }

        if (!_slotByPage.TryGetValue(pageNumber, out var slot))
        {
            slot = ChooseSlotToReuse();
            if (_pageNumbers[slot] != NoPage)
            {
                _slotByPage.Remove(_pageNumbers[slot]);
            }

            var page = _pages[slot] ??= new byte[PageSize];
            _validBytes[slot] = Math.Max(0, _reader.Read(pageNumber << PageShift, page));
            _pageNumbers[slot] = pageNumber;
            _slotByPage[pageNumber] = slot;
        }

        _recentlyUsed[slot] = true;
        _lastSlot = slot;
        _lastPageNumber = pageNumber;
        return slot;
    }

    /// <summary>Clock (second-chance) replacement: cheap, and close enough to least-recently-used for this access pattern.</summary>
    private int ChooseSlotToReuse()
    {
        while (true)
        {
            var candidate = _clockHand;
            _clockHand = (_clockHand + 1) % _pages.Length;
            if (_pageNumbers[candidate] == NoPage || !_recentlyUsed[candidate])
            {
                return candidate;
            }

            _recentlyUsed[candidate] = false;
        }
    }
}
