using System.Buffers.Binary;
using System.Globalization;

namespace HeapDiag.Analysis.Internal;

/// <summary>
/// Checks a file's headers before ClrMD opens it, so a missing, empty, truncated or foreign file fails with a reason a
/// person understands instead of a parser exception from deep inside ClrMD (or, for a truncated dump, silently wrong
/// numbers: ClrMD opens a core file whose memory ends early and reads the missing part as unreadable memory).
/// </summary>
internal static class DumpFileCheck
{
    private const ushort ElfTypeCore = 4;
    private const ushort ElfExtendedNumbering = 0xFFFF;
    private const uint MinidumpMemory64ListStream = 9;

    /// <summary>Throws <see cref="HeapDumpFormatException"/> unless the file looks like a complete core dump or minidump.</summary>
    public static void ThrowIfUnusable(string dumpPath)
    {
        if (!File.Exists(dumpPath))
        {
            throw new HeapDumpFormatException(Directory.Exists(dumpPath)
                ? $"not a file: {dumpPath} is a directory"
                : $"file not found: {dumpPath}");
        }

        using var file = OpenForReading(dumpPath);
        var length = file.Length;
        if (length == 0)
        {
            throw new HeapDumpFormatException("empty file: 0 bytes");
        }

        Span<byte> magic = stackalloc byte[4];
        if (ReadAt(file, 0, magic) < 4)
        {
            throw NotADump();
        }

        if (magic.SequenceEqual("\u007FELF"u8))
        {
            CheckElfCore(file, length);
        }
        else if (magic.SequenceEqual("MDMP"u8))
        {
            CheckMinidump(file, length);
        }
        else if (BinaryPrimitives.ReadUInt32LittleEndian(magic) != 0xFEEDFACF)
        {
            // 0xFEEDFACF is a 64-bit Mach-O file (a macOS core dump); ClrMD reads those and checks them itself.
            throw NotADump();
        }
    }

    private static FileStream OpenForReading(string dumpPath)
    {
        try
        {
            return new FileStream(dumpPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1);
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            throw new HeapDumpFormatException($"cannot open the file: {ex.Message}", ex);
        }
    }

    private static HeapDumpFormatException NotADump() =>
        new("not a dump: the file is neither an ELF core dump nor a Windows minidump");

    private static HeapDumpFormatException Truncated(long length, long described) =>
        new(string.Create(
            CultureInfo.InvariantCulture,
            $"truncated: the file has {length:N0} bytes but its headers describe {described:N0}"));

    private static void CheckElfCore(FileStream file, long length)
    {
        var elf = ReadElfHeader(file, length);
        if (elf.ProgramHeaderSize < (elf.Is64Bit ? 56 : 32) || elf.ProgramHeaderCount == 0)
        {
            throw new HeapDumpFormatException("corrupt: the ELF core file has no readable program headers");
        }

        var headersEnd = elf.ProgramHeaderOffset + (elf.ProgramHeaderCount * elf.ProgramHeaderSize);
        if (headersEnd > length)
        {
            throw Truncated(length, headersEnd);
        }

        var describedEnd = Math.Max(headersEnd, SegmentsEnd(file, elf));
        if (describedEnd > length)
        {
            throw Truncated(length, describedEnd);
        }
    }

    /// <summary>Checks the ELF header is a little-endian core file's and reads where its program headers are.</summary>
    private static ElfCoreLayout ReadElfHeader(FileStream file, long length)
    {
        Span<byte> header = stackalloc byte[64];
        if (ReadAt(file, 0, header) < 52)
        {
            throw Truncated(length, 64);
        }

        var is64Bit = header[4] == 2;
        if (header[5] != 1)
        {
            throw new HeapDumpFormatException("not supported: big-endian ELF file");
        }

        var type = BinaryPrimitives.ReadUInt16LittleEndian(header[16..]);
        if (type != ElfTypeCore)
        {
            throw new HeapDumpFormatException(string.Create(
                CultureInfo.InvariantCulture,
                $"not a dump: ELF file of type {type} (a program or library, not a core dump)"));
        }

        var programHeaderOffset = is64Bit ? (long)BinaryPrimitives.ReadUInt64LittleEndian(header[32..]) : BinaryPrimitives.ReadUInt32LittleEndian(header[28..]);
        var sectionHeaderOffset = is64Bit ? (long)BinaryPrimitives.ReadUInt64LittleEndian(header[40..]) : BinaryPrimitives.ReadUInt32LittleEndian(header[32..]);
        int programHeaderSize = BinaryPrimitives.ReadUInt16LittleEndian(header[(is64Bit ? 54 : 42)..]);
        long programHeaderCount = BinaryPrimitives.ReadUInt16LittleEndian(header[(is64Bit ? 56 : 44)..]);
        if (programHeaderCount == ElfExtendedNumbering)
        {
            programHeaderCount = ExtendedProgramHeaderCount(file, length, sectionHeaderOffset, is64Bit);
        }

        return new ElfCoreLayout(is64Bit, programHeaderOffset, programHeaderSize, programHeaderCount);
    }

    /// <summary>More than 65534 segments: the real count is in the first section header's sh_info.</summary>
    private static long ExtendedProgramHeaderCount(FileStream file, long length, long sectionHeaderOffset, bool is64Bit)
    {
        Span<byte> info = stackalloc byte[4];
        if (ReadAt(file, sectionHeaderOffset + (is64Bit ? 44 : 28), info) < 4)
        {
            throw Truncated(length, sectionHeaderOffset + 64);
        }

        return BinaryPrimitives.ReadUInt32LittleEndian(info);
    }

    /// <summary>The end of the last segment's data: where a complete file ends.</summary>
    private static long SegmentsEnd(FileStream file, ElfCoreLayout elf)
    {
        long end = 0;
        ForEachRecord(file, elf.ProgramHeaderOffset, elf.ProgramHeaderCount, elf.ProgramHeaderSize, entry =>
        {
            var offset = elf.Is64Bit ? (long)BinaryPrimitives.ReadUInt64LittleEndian(entry[8..]) : BinaryPrimitives.ReadUInt32LittleEndian(entry[4..]);
            var fileSize = elf.Is64Bit ? (long)BinaryPrimitives.ReadUInt64LittleEndian(entry[32..]) : BinaryPrimitives.ReadUInt32LittleEndian(entry[16..]);
            if (offset < 0 || fileSize < 0 || offset > long.MaxValue - fileSize)
            {
                throw new HeapDumpFormatException("corrupt: an ELF program header points outside any possible file");
            }

            end = Math.Max(end, offset + fileSize);
        });
        return end;
    }

    private static void CheckMinidump(FileStream file, long length)
    {
        Span<byte> header = stackalloc byte[32];
        if (ReadAt(file, 0, header) < 32)
        {
            throw Truncated(length, 32);
        }

        var streamCount = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        var directoryOffset = BinaryPrimitives.ReadUInt32LittleEndian(header[12..]);
        var directoryEnd = directoryOffset + (streamCount * 12L);
        if (directoryEnd > length)
        {
            throw Truncated(length, directoryEnd);
        }

        var describedEnd = directoryEnd;
        var memoryLists = new List<long>();
        ForEachRecord(file, directoryOffset, streamCount, 12, entry =>
        {
            var streamType = BinaryPrimitives.ReadUInt32LittleEndian(entry);
            var size = BinaryPrimitives.ReadUInt32LittleEndian(entry[4..]);
            var offset = BinaryPrimitives.ReadUInt32LittleEndian(entry[8..]);
            describedEnd = Math.Max(describedEnd, (long)offset + size);
            if (streamType == MinidumpMemory64ListStream)
            {
                memoryLists.Add(offset);
            }
        });

        foreach (var memoryList in memoryLists.Where(offset => offset + 16 <= length))
        {
            describedEnd = Math.Max(describedEnd, Memory64ListEnd(file, memoryList, length));
        }

        if (describedEnd > length)
        {
            throw Truncated(length, describedEnd);
        }
    }

    /// <summary>The memory of a full or heap minidump follows its headers: base offset plus the sum of all ranges.</summary>
    private static long Memory64ListEnd(FileStream file, long streamOffset, long length)
    {
        Span<byte> listHeader = stackalloc byte[16];
        ReadAt(file, streamOffset, listHeader);
        var rangeCount = BinaryPrimitives.ReadUInt64LittleEndian(listHeader);
        var baseOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(listHeader[8..]);
        if (rangeCount > (ulong)(length / 16))
        {
            throw new HeapDumpFormatException("corrupt: the minidump memory list has more ranges than the file can hold");
        }

        var end = baseOffset;
        ForEachRecord(file, streamOffset + 16, (long)rangeCount, 16, range => end += (long)BinaryPrimitives.ReadUInt64LittleEndian(range[8..]));
        return end;
    }

    /// <summary>Calls <paramref name="read"/> for each of <paramref name="count"/> fixed-size records, reading the file in blocks (a corrupt count must not become a huge allocation).</summary>
    private static void ForEachRecord(FileStream file, long offset, long count, int recordSize, RecordReader read)
    {
        var block = new byte[Math.Max(recordSize, 64 * 1024 / recordSize * recordSize)];
        long done = 0;
        while (done < count)
        {
            var records = (int)Math.Min(count - done, block.Length / recordSize);
            var bytes = ReadAt(file, offset + (done * recordSize), block.AsSpan(0, records * recordSize));
            if (bytes < records * recordSize)
            {
                throw Truncated(file.Length, offset + (count * recordSize));
            }

            for (var i = 0; i < records; i++)
            {
                read(block.AsSpan(i * recordSize, recordSize));
            }

            done += records;
        }
    }

    private delegate void RecordReader(ReadOnlySpan<byte> record);

    /// <summary>Where an ELF core file's program headers are: what the rest of the file is checked against.</summary>
    private readonly record struct ElfCoreLayout(bool Is64Bit, long ProgramHeaderOffset, int ProgramHeaderSize, long ProgramHeaderCount);

    private static int ReadAt(FileStream file, long offset, Span<byte> buffer)
    {
        if (offset < 0 || offset >= file.Length)
        {
            return 0;
        }

        file.Position = offset;
        return file.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
    }
}
