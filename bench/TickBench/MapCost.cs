using System.Diagnostics;
using HeapDiag.AspNetCore.Diagnostics.MemoryMaps;

/// <summary>
/// Where a memory map's time goes, in this process: the kernel making /proc/self/smaps (read into a buffer, no
/// parsing), our parsing of those bytes (SmapsParser over text already in memory), and the whole map
/// (MemoryMapReader.Read: read, parse, classify, the GC's figures), with the bytes one map allocates. Medians of
/// <c>rounds</c> interleaved rounds, so a burst of load on the shared machine hits all three alike.
/// </summary>
internal static class MapCost
{
    public static string Measure(int rounds)
    {
        var reader = new MemoryMapReader(TimeProvider.System);
        var parser = new SmapsParser();
        var buffer = new byte[16 << 20];
        reader.Read();
        var (kernel, parse, map, allocated) = (new double[rounds], new double[rounds], new double[rounds], new long[rounds]);
        var length = 0;
        var mappings = 0;
        for (var i = 0; i < rounds; i++)
        {
            var started = Stopwatch.GetTimestamp();
            length = ReadAll(buffer);
            kernel[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;

            started = Stopwatch.GetTimestamp();
            parser.Parse(buffer.AsSpan(0, length));
            parse[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            mappings = parser.Mappings.Length;

            var before = GC.GetAllocatedBytesForCurrentThread();
            started = Stopwatch.GetTimestamp();
            reader.Read();
            map[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            allocated[i] = GC.GetAllocatedBytesForCurrentThread() - before;
        }

        return FormattableString.Invariant(
            $"{{\"rounds\":{rounds},\"mappings\":{mappings},\"smapsBytes\":{length},\"kernelMs\":{Median(kernel):F3},\"parseMs\":{Median(parse):F3},\"mapMs\":{Median(map):F3},\"bytesPerMap\":{Median(allocated.Select(a => (double)a).ToArray()):F0}}}");
    }

    /// <summary>/proc/self/smaps into <paramref name="buffer"/> in 64 KiB reads, as the parser reads it; the length read.</summary>
    private static int ReadAll(byte[] buffer)
    {
        using var handle = File.OpenHandle(MemoryMapReader.SmapsFile);
        int total = 0, read;
        while ((read = RandomAccess.Read(handle, buffer.AsSpan(total, Math.Min(64 * 1024, buffer.Length - total)), total)) > 0)
        {
            total += read;
        }

        return total;
    }

    private static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }
}
