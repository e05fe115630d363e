namespace HeapDiag.AspNetCore.Tests.Damage;

/// <summary>Where memory lies in an ELF64 core file: what a test needs to damage a dump at a chosen address.</summary>
internal static class CoreFile
{
    /// <summary>The PT_LOAD program headers of an ELF64 core file: memory address, file offset, bytes in the file.</summary>
    public static List<(ulong Address, long Offset, long FileBytes)> Loads(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        reader.BaseStream.Position = 0x20;
        var programHeaders = reader.ReadInt64();
        var sectionHeaders = reader.ReadInt64();
        reader.BaseStream.Position = 0x36;
        var entrySize = reader.ReadUInt16();
        int count = reader.ReadUInt16();
        if (count == 0xFFFF)
        {
            // PN_XNUM: the real count is in the first section header's sh_info.
            reader.BaseStream.Position = sectionHeaders + 0x2C;
            count = reader.ReadInt32();
        }

        var loads = new List<(ulong, long, long)>();
        for (var i = 0; i < count; i++)
        {
            reader.BaseStream.Position = programHeaders + ((long)i * entrySize);
            var type = reader.ReadUInt32();
            reader.ReadUInt32();
            var offset = reader.ReadInt64();
            var address = reader.ReadUInt64();
            reader.ReadUInt64();
            var fileBytes = reader.ReadInt64();
            if (type == 1 && fileBytes > 0)
            {
                loads.Add((address, offset, fileBytes));
            }
        }

        return loads;
    }

    /// <summary>The file offset that holds the <paramref name="bytes"/> at <paramref name="address"/>.</summary>
    public static long OffsetOf(IReadOnlyList<(ulong Address, long Offset, long FileBytes)> loads, ulong address, int bytes)
    {
        foreach (var (start, offset, fileBytes) in loads)
        {
            if (address >= start && address + (ulong)bytes <= start + (ulong)fileBytes)
            {
                return offset + (long)(address - start);
            }
        }

        throw new InvalidOperationException($"The dump holds no bytes at 0x{address:x}.");
    }
}
