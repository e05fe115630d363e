using System.Runtime.InteropServices;

namespace HeapDiag.Analysis.Internal;

/// <summary>
/// Counts live strings by value to find duplicates, without keeping the values: each string is reduced to its length
/// and a 64-bit hash of its characters, and only the top values are read back as text at the end.
/// </summary>
/// <remarks>
/// Memory is bounded by <c>maxDistinctValues</c> entries (about 40 bytes each). Past that, strings with values not
/// seen yet are no longer counted; repeated values tend to show up early, and the summary notes the cut.
/// </remarks>
internal sealed class DuplicateStringCounter(HeapMemory memory, int maxDistinctValues)
{
    private const int MaxHashedChars = 1 << 20;

    private readonly Dictionary<StringKey, StringTally> _tallies = [];
    private byte[] _characters = new byte[1024];

    /// <summary>Strings not counted because the table was full.</summary>
    public long Uncounted { get; private set; }

    public void Add(ulong address, ulong size)
    {
        var pointerSize = memory.PointerSize;
        var length = memory.ReadUInt32(address + (ulong)pointerSize);
        var hashedChars = (int)Math.Min(length, MaxHashedChars);
        var byteCount = hashedChars * 2;
        if (_characters.Length < byteCount)
        {
            _characters = new byte[Math.Max(byteCount, _characters.Length * 2)];
        }

        var characters = _characters.AsSpan(0, byteCount);
        var read = memory.Read(address + (ulong)pointerSize + 4, characters);
        var key = new StringKey(length, Hash(characters[..read]));

        ref var tally = ref CollectionsMarshal.GetValueRefOrNullRef(_tallies, key);
        if (!System.Runtime.CompilerServices.Unsafe.IsNullRef(ref tally))
        {
            tally.Count++;
        }
        else if (_tallies.Count < maxDistinctValues)
        {
            _tallies[key] = new StringTally(address, size, 1);
        }
        else
        {
            Uncounted++;
        }
    }

    /// <summary>The values wasting the most bytes, with totals over every duplicated value.</summary>
    public (long WastedBytes, long DuplicatedValues, IReadOnlyList<(ulong Address, uint Length, long Count, ulong Size)> Top) Result(int top)
    {
        long wasted = 0;
        long duplicated = 0;
        var candidates = new List<(ulong Address, uint Length, long Count, ulong Size)>();
        foreach ((var key, var tally) in _tallies)
        {
            if (tally.Count > 1)
            {
                duplicated++;
                wasted += (tally.Count - 1) * (long)tally.Size;
                candidates.Add((tally.FirstAddress, key.Length, tally.Count, tally.Size));
            }
        }

        var best = candidates
            .OrderByDescending(c => (c.Count - 1) * (long)c.Size)
            .ThenBy(c => c.Address)
            .Take(top)
            .ToList();
        return (wasted, duplicated, best);
    }

    /// <summary>64-bit multiply-rotate hash over 8-byte words; distinct values of the same length collide about once in 2^64.</summary>
    private static ulong Hash(ReadOnlySpan<byte> bytes)
    {
        const ulong Prime1 = 0x9E3779B185EBCA87;
        const ulong Prime2 = 0xC2B2AE3D27D4EB4F;
        var hash = Prime2 ^ (ulong)bytes.Length;
        var words = MemoryMarshal.Cast<byte, ulong>(bytes);
        foreach (var word in words)
        {
            hash = (System.Numerics.BitOperations.RotateLeft(hash ^ (word * Prime1), 31) * Prime2) + Prime1;
        }

        foreach (var tail in bytes[(words.Length * 8)..])
        {
            hash = (System.Numerics.BitOperations.RotateLeft(hash ^ (tail * Prime1), 23) * Prime2) + Prime1;
        }

        hash ^= hash >> 33;
        hash *= Prime1;
        hash ^= hash >> 29;
        return hash;
    }

    private readonly record struct StringKey(uint Length, ulong Hash);

    private record struct StringTally(ulong FirstAddress, ulong Size, long Count);
}
