using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;

namespace HeapDiag.Analysis.Internal;

/// <summary>
/// The dumped process's memory read straight out of a memory-mapped ELF core file: an address becomes a pointer into
/// the file through the core's <c>PT_LOAD</c> program headers, with no call into ClrMD and no copy.
/// </summary>
/// <remarks>
/// Every pass over the object graph reads each live object once or more, in reference order; through a reader and a
/// page cache that cost a dictionary lookup and a 64 KiB copy on every miss. Mapped, a read is a binary search (most
/// often skipped: consecutive reads fall in the same region) and a pointer. The pages touched are the dump file's own
/// clean pages in the kernel's page cache: they count as resident memory of this process while mapped, but the kernel
/// drops and re-reads them under memory pressure (in a container too), so they never push the analysis into an OOM kill
/// the way the same bytes copied onto the GC heap would. Windows minidumps and 32-bit cores are not mapped; the caller
/// falls back to the reader.
/// </remarks>
internal sealed unsafe class MappedDump : IDisposable
{
    private const uint LoadSegment = 1;
    private const int NoExtendedCount = 0xFFFF;
    private const uint ElfMagic = 0x464C457F;

    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private readonly ulong[] _starts;
    private readonly ulong[] _ends;
    private readonly long[] _offsets;
    private int _last;

    private MappedDump(MemoryMappedFile file, MemoryMappedViewAccessor view, (ulong Start, ulong End, long Offset)[] regions)
    {
        _file = file;
        _view = view;
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _base = pointer + view.PointerOffset;
        _starts = [.. regions.Select(r => r.Start)];
        _ends = [.. regions.Select(r => r.End)];
        _offsets = [.. regions.Select(r => r.Offset)];
    }

    /// <summary>Maps <paramref name="path"/> if it is a little-endian 64-bit ELF core whose regions lie inside the file; otherwise null.</summary>
    public static MappedDump? TryOpen(string path)
    {
        var length = new FileInfo(path).Length;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
        if (ReadRegions(stream, length) is not { Length: > 0 } regions)
        {
            return null;
        }

        var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, mapName: null, 0, MemoryMappedFileAccess.Read);
        try
        {
            return new MappedDump(file, file.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read), regions);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// <paramref name="length"/> bytes at <paramref name="address"/>, straight from the file; empty unless all of them
    /// were dumped in one region. Valid until the dump is disposed.
    /// </summary>
    public ReadOnlySpan<byte> TryGetSpan(ulong address, int length)
    {
        var region = RangeSearch.Find(_starts, _ends, address, ref _last);
        if (region < 0)
        {
            return default;
        }

        var end = address + (ulong)length;
        return end > _ends[region] || end < address
            ? default
            : new ReadOnlySpan<byte>(_base + _offsets[region] + (long)(address - _starts[region]), length);
    }

    public void Dispose()
    {
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }

    /// <summary>The <c>PT_LOAD</c> regions (address range and file offset) by address, or null when the file is not a core this can map.</summary>
    private static (ulong Start, ulong End, long Offset)[]? ReadRegions(FileStream stream, long fileLength)
    {
        Span<byte> header = stackalloc byte[64];
        if (stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length
            || BinaryPrimitives.ReadUInt32LittleEndian(header) != ElfMagic
            || header[4] != 2 || header[5] != 1)
        {
            return null;
        }

        var programHeaders = BinaryPrimitives.ReadInt64LittleEndian(header[32..]);
        var sectionHeaders = BinaryPrimitives.ReadInt64LittleEndian(header[40..]);
        var entrySize = BinaryPrimitives.ReadUInt16LittleEndian(header[54..]);
        long count = BinaryPrimitives.ReadUInt16LittleEndian(header[56..]);
        if (count == NoExtendedCount)
        {
            // More program headers than 16 bits count: the real number is in section header 0's sh_info.
            Span<byte> info = stackalloc byte[4];
            stream.Position = sectionHeaders + 44;
            stream.ReadExactly(info);
            count = BinaryPrimitives.ReadUInt32LittleEndian(info);
        }

        if (entrySize < 56 || programHeaders <= 0 || programHeaders + (count * entrySize) > fileLength)
        {
            return null;
        }

        var table = new byte[count * entrySize];
        stream.Position = programHeaders;
        stream.ReadExactly(table);
        var regions = new List<(ulong Start, ulong End, long Offset)>();
        for (var i = 0; i < count; i++)
        {
            var entry = table.AsSpan((int)(i * entrySize), entrySize);
            var offset = BinaryPrimitives.ReadInt64LittleEndian(entry[8..]);
            var start = BinaryPrimitives.ReadUInt64LittleEndian(entry[16..]);
            var size = BinaryPrimitives.ReadInt64LittleEndian(entry[32..]);
            if (BinaryPrimitives.ReadUInt32LittleEndian(entry) == LoadSegment && size > 0 && offset >= 0 && offset + size <= fileLength)
            {
                regions.Add((start, start + (ulong)size, offset));
            }
        }

        regions.Sort((a, b) => a.Start.CompareTo(b.Start));
        for (var i = 1; i < regions.Count; i++)
        {
            if (regions[i].Start < regions[i - 1].End)
            {
                return null;
            }
        }

        return [.. regions];
    }
}
