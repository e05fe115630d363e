using HeapDiag.Analysis.Internal;
using System.Buffers.Binary;
using HeapDiag.Analysis.Tests;
using Microsoft.Diagnostics.Runtime;

namespace HeapDiag.AspNetCore.Tests.Damage;

/// <summary>
/// A dump damaged the same way every time, past the 1 % refusal: the test target (a child process holding
/// <see cref="Markers"/> leak markers reachable from one static list, and little else) dumps itself, then the method
/// table pointer of every marker whose id is a multiple of <see cref="DamageEvery"/> is overwritten in the file with one
/// that no dump can resolve. The markers are found through the dump's own heap (ClrMD), their place in the file through its
/// ELF program headers, so nothing depends on the heap of the test process.
/// </summary>
public sealed class DamagedTargetDump : IDisposable
{
    public const int Markers = 10_000;
    public const int DamageEvery = 4;

    /// <summary>Exactly the markers made unreadable: what the analysis must report as skipped.</summary>
    public const int DamagedMarkers = Markers / DamageEvery;

    private const string MarkerType = "HeapDiag.Analysis.TestTarget.LeakMarker";

    // Not a canonical user-space address on x64 or arm64: no dump holds memory there, so this never resolves.
    private const ulong UnresolvableMethodTable = 0xDEAD_BEEF_0000_0000;

    private readonly string _directory = Directory.CreateTempSubdirectory("heapdiag-damaged-target-").FullName;

    public DamagedTargetDump()
    {
        try
        {
            using (var target = TargetProcess.Start(Markers))
            {
                target.Send($"dump {Path}");
                target.Send("exit");
            }

            Damage();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The damaged dump.</summary>
    public string Path => System.IO.Path.Combine(_directory, "damaged.dmp");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private void Damage()
    {
        List<ulong> markers;
        using (var target = DataTarget.LoadDump(Path))
        {
            using var runtime = DumpSession.CreateRuntime(target.ClrVersions[0]);
            Assert.True(runtime.Heap.CanWalkHeap, "the target was dumped during a garbage collection; the damage would not be refused");
            Assert.Equal(8, target.DataReader.PointerSize);

            // Live markers have ids 0 to Markers − 1; the garbage ones the target leaves behind before it dumps have −1.
            markers = [.. runtime.Heap.EnumerateObjects()
                .Where(o => o.Type?.Name == MarkerType && o.ReadField<int>("<Id>k__BackingField") is var id && id >= 0 && id % DamageEvery == 0)
                .Select(o => o.Address)];
        }

        Assert.Equal(DamagedMarkers, markers.Count);
        var loads = CoreFile.Loads(Path);
        var word = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(word, UnresolvableMethodTable);
        using var file = new FileStream(Path, FileMode.Open, FileAccess.Write);
        foreach (var marker in markers)
        {
            file.Position = CoreFile.OffsetOf(loads, marker, word.Length);
            file.Write(word);
        }
    }
}
