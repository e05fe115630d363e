using System.Text;
using HeapDiag.AspNetCore.Diagnostics.MemoryMaps;

namespace HeapDiag.AspNetCore.Tests.Diagnostics;

/// <summary>How each kind of mapping is told apart, on smaps text shaped like a .NET process's (addresses from a real one).</summary>
public sealed class MemoryMapClassificationTests
{
    private const string Smaps = """
        55ab346fa000-55ab3482c000 rw-p 00000000 00:00 0                          [heap]
        Rss:                1092 kB
        Pss:                1092 kB
        7f35c4000000-7f35c4021000 rw-p 00000000 00:00 0 
        Rss:                   8 kB
        7f35c4021000-7f35c8000000 ---p 00000000 00:00 0 
        Rss:                   0 kB
        7f35fe000000-7f35ff000000 rw-p 00000000 00:00 0 
        Rss:                  50 kB
        7f35ff000000-7f35ff011000 rw-p 00000000 00:00 0 
        Rss:                 100 kB
        7f35ff011000-7f3601000000 ---p 00000000 00:00 0 
        Rss:                   0 kB
        7f3601000000-7f3601400000 rw-p 00000000 00:00 0 
        Rss:                 200 kB
        VmFlags: rd wr mr mw me ac sd
        7f41db00f000-7f41db010000 ---p 00000000 00:00 0 
        Rss:                   0 kB
        7f41db010000-7f41db810000 rw-p 00000000 00:00 0 
        Rss:                   8 kB
        7f41db830000-7f41db831000 r-xs 00000000 00:01 1064                       /memfd:doublemapper (deleted)
        Rss:                   4 kB
        7f41db870000-7f41dc3bc000 r-xp 00000000 fe:00 350922                     /usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.12/System.Private.CoreLib.dll
        Rss:                3824 kB
        7f41dc3dc000-7f41dc400000 rw-p 00b4c000 fe:00 350922                     /usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.12/System.Private.CoreLib.dll
        Rss:                 100 kB
        7f41dd000000-7f41dd100000 r-xp 00000000 fe:00 345402                     /usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.12/libcoreclr.so
        Rss:                 500 kB
        7f41de000000-7f41de010000 rw-p 00000000 00:00 0 
        Rss:                  16 kB
        7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]
        Rss:                 132 kB
        7ffc00100000-7ffc00102000 r-xp 00000000 00:00 0                          [vdso]
        Rss:                   8 kB
        """;

    [Fact]
    public void Every_mapping_lands_in_one_kind_and_the_kinds_add_up()
    {
        var parser = new SmapsParser();
        parser.Parse(Encoding.UTF8.GetBytes(Smaps));
        var mappings = parser.Mappings;
        Assert.Equal(16, mappings.Length);

        // The GC's reservation is 0x2400000 bytes; the mapping below it touches it but is not part of it.
        var gc = GcHeapRange.Find(mappings, regionRange: 0x2400000, pinnedObject: 0x7f35ff000100, largeObject: 0x7f3601000048);
        var memory = MappingClassifier.Classify(mappings, parser.Names.Count, gc);

        Assert.Equal(Kb(300), memory.Totals.GcHeap);
        Assert.Equal(Kb(1092 + 8), memory.Totals.NativeHeap);
        Assert.Equal(2, memory.Arenas);
        Assert.Equal(Kb(1092), memory.MainHeapBytes);
        Assert.Equal(Kb(8 + 132), memory.Totals.ThreadStacks);
        Assert.Equal(2, memory.Stacks);
        Assert.Equal(Kb(4), memory.JitBytes);
        Assert.Equal(Kb(3824), memory.ReadyToRunBytes);
        Assert.Equal(Kb(100 + 500), memory.Totals.LoadedFiles);
        Assert.Equal(Kb(50 + 16 + 8), memory.Totals.OtherAnonymous);
        Assert.Equal(Kb(1092 + 8 + 50 + 100 + 200 + 8 + 4 + 3824 + 100 + 500 + 16 + 132 + 8), memory.Totals.Sum);

        var byName = Enumerable.Range(0, parser.Names.Count).ToDictionary(id => parser.Names[id], id => memory.BytesByFileName[id]);
        Assert.Equal(Kb(500), byName["libcoreclr.so"]);
        Assert.Equal(Kb(100), byName["System.Private.CoreLib.dll"]);
    }

    [Fact]
    public void Without_regions_each_run_around_a_known_object_is_the_gc_heap()
    {
        var parser = new SmapsParser();
        parser.Parse(Encoding.UTF8.GetBytes(Smaps));

        var gc = GcHeapRange.Find(parser.Mappings, regionRange: 0, pinnedObject: 0x7f35ff000100, largeObject: 0x7f41de000010);
        var memory = MappingClassifier.Classify(parser.Mappings, parser.Names.Count, gc);

        // Segments: the whole run holding the pinned object (the mapping below it included) and the large object's own.
        Assert.Equal(Kb(50 + 100 + 200 + 16), memory.Totals.GcHeap);
    }

    [Fact]
    public void Full_malloc_heaps_merged_into_one_mapping_are_native_heap()
    {
        // One arena that grew past two heaps: glibc placed each new 64 MiB heap below the last, and the kernel merged the
        // full ones (and the third's used part) into one mapping. Seen on SampleApi after POST /leak/native?mb=200.
        const string merged = """
            7f2200000000-7f2208000000 rw-p 00000000 00:00 0 
            Rss:              131072 kB
            7f2210000000-7f2212000000 rw-p 00000000 00:00 0 
            Rss:               32768 kB
            7f2212000000-7f2214000000 ---p 00000000 00:00 0 
            Rss:                   0 kB
            7f2300000000-7f2306000000 rw-p 00000000 00:00 0 
            Rss:               98304 kB
            7f2306000000-7f2308000000 ---p 00000000 00:00 0 
            Rss:                   0 kB
            7f2400000000-7f2405000000 rw-p 00000000 00:00 0 
            Rss:               81920 kB
            """;
        var parser = new SmapsParser();
        parser.Parse(Encoding.UTF8.GetBytes(merged));

        var memory = MappingClassifier.Classify(parser.Mappings, parser.Names.Count, GcHeapRange.None);

        // Two full heaps; one heap half used; one and a half heaps with the rest reserved; 80 MiB not a multiple of 64 MiB
        // (a large malloc block or the runtime's own), which stays other anonymous.
        Assert.Equal(Kb(131072 + 32768 + 98304), memory.Totals.NativeHeap);
        Assert.Equal(2 + 1 + 2, memory.Arenas);
        Assert.Equal(Kb(81920), memory.Totals.OtherAnonymous);
    }

    [Fact]
    public void A_reading_split_across_buffer_boundaries_reads_the_same()
    {
        var path = Path.Combine(Path.GetTempPath(), $"heapdiag-smaps-{Guid.NewGuid():N}");
        try
        {
            // Long enough that lines straddle the 64 KiB reads: many copies of a harmless file mapping.
            var filler = string.Concat(Enumerable.Range(0, 4000).Select(i => $"{0x7e0000000000 + (i * 0x1000):x}-{0x7e0000000000 + (i * 0x1000) + 0x1000:x} r--p 00000000 fe:00 1 /usr/lib/data{i % 7}.bin\nRss:                   4 kB\nPss:                   4 kB\n"));
            File.WriteAllText(path, filler + Smaps + "\n");
            var parser = new SmapsParser();
            parser.Read(path);

            Assert.Equal(4000 + 16, parser.Mappings.Length);
            var gc = GcHeapRange.Find(parser.Mappings, regionRange: 0x2400000, pinnedObject: 0x7f35ff000100, largeObject: 0x7f3601000048);
            var memory = MappingClassifier.Classify(parser.Mappings, parser.Names.Count, gc);
            Assert.Equal(Kb((4000 * 4) + 600), memory.Totals.LoadedFiles);
            Assert.Equal(Kb(300), memory.Totals.GcHeap);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void The_map_of_this_process_adds_up_to_its_resident_set()
    {
        var map = new MemoryMapReader(TimeProvider.System).Read()!;

        Assert.Equal(map.ResidentBytes, map.Kinds.Sum(kind => kind.Bytes));
        Assert.InRange(Math.Abs(map.ResidentBytes - map.WorkingSetBytes), 0, map.WorkingSetBytes / 100);
        Assert.True(map.GcHeap.Bytes > 0, "the GC heap was found");
        Assert.True(map.ThreadStacks.Stacks >= 1 && map.Code.JitBytes > 0 && map.LoadedFiles.Top.Count > 0, map.ToString());
    }

    private static long Kb(long kilobytes) => kilobytes * 1024;
}
