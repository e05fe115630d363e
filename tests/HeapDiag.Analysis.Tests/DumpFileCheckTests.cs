using System.Buffers.Binary;
using HeapDiag.Analysis.Internal;

namespace HeapDiag.Analysis.Tests;

/// <summary>Header checks on hand-made files: what a person is told about a file that is not a usable dump.</summary>
public sealed class DumpFileCheckTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "heapdiag-filecheck-tests-" + Guid.NewGuid().ToString("N"));

    public DumpFileCheckTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void An_elf_program_is_not_a_dump()
    {
        var path = Write(ElfCore(type: 2, segmentOffset: 0x1000, segmentSize: 0x10, fileLength: 0x2000));

        var error = Assert.Throws<HeapDumpFormatException>(() => DumpFileCheck.ThrowIfUnusable(path));

        Assert.StartsWith("not a dump: ELF file of type 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_core_file_shorter_than_its_segments_is_truncated()
    {
        var path = Write(ElfCore(type: 4, segmentOffset: 0x1000, segmentSize: 0x5000, fileLength: 0x2000));

        var error = Assert.Throws<HeapDumpFormatException>(() => DumpFileCheck.ThrowIfUnusable(path));

        Assert.Equal("truncated: the file has 8,192 bytes but its headers describe 24,576", error.Message);
    }

    [Fact]
    public void A_complete_core_file_passes()
    {
        var path = Write(ElfCore(type: 4, segmentOffset: 0x1000, segmentSize: 0x1000, fileLength: 0x2000));

        DumpFileCheck.ThrowIfUnusable(path);
    }

    [Fact]
    public void A_directory_is_not_a_file()
    {
        var error = Assert.Throws<HeapDumpFormatException>(() => DumpFileCheck.ThrowIfUnusable(_directory));

        Assert.StartsWith("not a file:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_minidump_whose_directory_is_cut_off_is_truncated()
    {
        var file = new byte[40];
        "MDMP"u8.CopyTo(file);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(8), 10);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(12), 32);
        var path = Write(file);

        var error = Assert.Throws<HeapDumpFormatException>(() => DumpFileCheck.ThrowIfUnusable(path));

        Assert.StartsWith("truncated:", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A 64-bit little-endian ELF file with one program header.</summary>
    private static byte[] ElfCore(ushort type, long segmentOffset, long segmentSize, int fileLength)
    {
        var file = new byte[fileLength];
        "\u007FELF"u8.CopyTo(file);
        file[4] = 2;
        file[5] = 1;
        file[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(16), type);
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(32), 64);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(54), 56);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(56), 1);
        var header = file.AsSpan(64, 56);
        BinaryPrimitives.WriteUInt32LittleEndian(header, 1);
        BinaryPrimitives.WriteUInt64LittleEndian(header[8..], (ulong)segmentOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(header[32..], (ulong)segmentSize);
        return file;
    }

    private string Write(byte[] content)
    {
        var path = Path.Combine(_directory, Guid.NewGuid().ToString("N"));
        File.WriteAllBytes(path, content);
        return path;
    }
}
