using HeapDiag.Analysis.Internal;
using HeapDiag.AspNetCore.Storage;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.Diagnostics.Runtime;

namespace HeapDiag.AspNetCore.Tests.Damage;

/// <summary>
/// One real heap dump of this process, captured once for a test class through <c>POST /debug/heapdump</c>, with what a
/// test needs to damage it on purpose: where the GC heap lies in the file (from the dump's ELF program headers and
/// ClrMD's segments) and how many bytes the heap's ranges hold, which no honest total can exceed.
/// </summary>
public sealed class RealDump : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("heapdiag-damage-").FullName;

    /// <summary>The undamaged dump.</summary>
    public string Path => System.IO.Path.Combine(_directory, "base.dmp");

    public long Length { get; private set; }

    /// <summary>File ranges (offset, length) that hold GC heap memory.</summary>
    public IReadOnlyList<(long Offset, long Length)> HeapInFile { get; private set; } = [];

    /// <summary>Bytes of the heap's committed ranges, from ClrMD.</summary>
    public long CommittedBytes { get; private set; }

    public async Task InitializeAsync()
    {
        await using var host = await TestHost.StartAsync();
        var id = await host.CaptureAsync();
        File.Copy(System.IO.Path.Combine(host.DumpDirectory, $"heapdump-{id}.dmp"), Path);
        Length = new FileInfo(Path).Length;

        using var target = DataTarget.LoadDump(Path);
        using var runtime = DumpSession.CreateRuntime(target.ClrVersions[0]);
        var segments = runtime.Heap.Segments.Where(s => s.End > s.Start).ToList();
        CommittedBytes = segments.Sum(s => (long)Math.Max(s.CommittedMemory.Length, s.End - s.Start));
        var loads = CoreFile.Loads(Path);
        HeapInFile = [.. segments.SelectMany(s => loads
            .Where(l => l.Address < s.End && l.Address + (ulong)l.FileBytes > s.Start)
            .Select(l =>
            {
                var start = Math.Max(l.Address, s.Start);
                var end = Math.Min(l.Address + (ulong)l.FileBytes, s.End);
                return (l.Offset + (long)(start - l.Address), (long)(end - start));
            }))
            .Where(r => r.Item2 >= 4096)];
        Assert.NotEmpty(HeapInFile);
    }

    /// <summary>A new id for a copy placed in a store, unique per <paramref name="index"/>.</summary>
    internal static HeapDumpId IdFor(int index) => new(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero).AddMilliseconds(index), 4242, "manual", 0, "heap");

    public Task DisposeAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }
}
