using HeapDiag.AspNetCore.Diagnostics.MemoryMaps;
using HeapDiag.AspNetCore.Monitoring;

namespace HeapDiag.AspNetCore.Tests.Monitoring;

/// <summary>The monitor's maps: one every <see cref="MemoryMapSampling.EveryTicks"/> ticks, kept in a bounded ring, and the kind that grew.</summary>
public sealed class MemoryMapSamplingTests : IDisposable
{
    private readonly string _smaps = Path.Combine(Path.GetTempPath(), $"heapdiag-smaps-{Guid.NewGuid():N}");

    [Fact]
    public void The_monitor_keeps_one_map_in_every_period_and_names_the_kind_that_grew()
    {
        var sampling = new MemoryMapSampling(new MemoryMapHistory(new MemoryMapReader(TimeProvider.System, _smaps), TimeProvider.System));
        WriteSmaps(nativeKb: 1_000);
        sampling.OnTick();

        var first = sampling.Status(includeSamples: true)!;
        Assert.Single(first.Samples!);
        Assert.Null(first.GrowingKind);
        Assert.Equal(1_500 * 1024, first.Start.ResidentBytes);

        // Between maps the ticks read nothing: the file's change shows only at the next period's map.
        WriteSmaps(nativeKb: 81_000);
        Tick(sampling, MemoryMapSampling.EveryTicks - 1);
        Assert.Single(sampling.Status(includeSamples: true)!.Samples!);
        Tick(sampling, 1);

        var grown = sampling.Status(includeSamples: true)!;
        Assert.Equal(2, grown.Samples!.Count);
        Assert.Equal(MemoryKinds.NativeHeap, grown.GrowingKind);
        Assert.Equal(80_000 * 1024, grown.Growth.Of(MemoryKinds.NativeHeap));
        Assert.Equal(1_500 * 1024, grown.Start.ResidentBytes);
        Assert.Equal(81_500 * 1024, grown.Now.ResidentBytes);
        Assert.Equal(81_500 * 1024, grown.Samples[1].ResidentBytes);
        Assert.Null(sampling.Status(includeSamples: false)!.Samples);

        // Past the ring's capacity the oldest maps go; the start (the process's first map) stays.
        Tick(sampling, MemoryMapSampling.EveryTicks * MemoryMapSampling.Capacity);
        var full = sampling.Status(includeSamples: true)!;
        Assert.Equal(MemoryMapSampling.Capacity, full.Samples!.Count);
        Assert.All(full.Samples, sample => Assert.Equal(81_500 * 1024, sample.ResidentBytes));
        Assert.Equal(1_500 * 1024, full.Start.ResidentBytes);
    }

    public void Dispose() => File.Delete(_smaps);

    private static void Tick(MemoryMapSampling sampling, int ticks)
    {
        for (var i = 0; i < ticks; i++)
        {
            sampling.OnTick();
        }
    }

    private void WriteSmaps(long nativeKb) => File.WriteAllText(_smaps, $"""
        55d4c8a00000-55d4cd000000 rw-p 00000000 00:00 0                          [heap]
        Rss:            {nativeKb} kB
        7f3600000000-7f3600100000 r--p 00000000 fe:00 42                         /usr/lib/data.bin
        Rss:                 500 kB

        """);
}
