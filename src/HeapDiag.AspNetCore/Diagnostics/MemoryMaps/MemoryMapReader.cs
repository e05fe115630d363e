using System.Runtime.InteropServices;

namespace HeapDiag.AspNetCore.Diagnostics.MemoryMaps;

/// <summary>
/// Reads the process's memory map: <c>/proc/self/smaps</c> classified by <see cref="MappingClassifier"/>, the GC heap's
/// part split by the GC's own figures into objects and free memory, and the kernel's resident-set counter beside the
/// sum. Linux only (elsewhere <see cref="IsSupported"/> is false). One reading at a time; its buffers are kept, so a
/// reading allocates only the answer.
/// </summary>
internal sealed class MemoryMapReader
{
    public const string SmapsFile = "/proc/self/smaps";
    private const int TopFiles = 10;

    private readonly Lock _gate = new();
    private readonly SmapsParser _parser = new();
    private readonly TimeProvider _timeProvider;
    private readonly string _smapsFile;

    // Objects the GC never moves (pinned object heap) or moves only when asked (large object heap): addresses inside the GC's range.
    private readonly byte[] _pinnedProbe = GC.AllocateArray<byte>(1, pinned: true);
    private readonly byte[] _largeProbe = new byte[100_000];
    private readonly ulong _regionRange = GC.GetConfigurationVariables().TryGetValue("GCRegionRange", out var range) && range is long bytes && bytes > 0 ? (ulong)bytes : 0;

    public MemoryMapReader(TimeProvider timeProvider)
        : this(timeProvider, SmapsFile)
    {
    }

    internal MemoryMapReader(TimeProvider timeProvider, string smapsFile)
    {
        _timeProvider = timeProvider;
        _smapsFile = smapsFile;
    }

    public bool IsSupported => OperatingSystem.IsLinux() && File.Exists(_smapsFile);

    /// <summary>Reads the map now; null where there is no smaps to read.</summary>
    public MemoryMap? Read()
    {
        if (!IsSupported)
        {
            return null;
        }

        lock (_gate)
        {
            var started = _timeProvider.GetTimestamp();
            try
            {
                _parser.Read(_smapsFile);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return null;
            }

            var mappings = _parser.Mappings;
            var gcRange = GcHeapRange.Find(mappings, _regionRange, AddressOf(_pinnedProbe), AddressOf(_largeProbe));
            var classified = MappingClassifier.Classify(mappings, _parser.Names.Count, gcRange);
            var status = ProcessMemory.Read();
            return Compose(classified, mappings.Length, status, _timeProvider.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    private MemoryMap Compose(ClassifiedMemory classified, int mappings, ProcessMemoryInfo status, double elapsedMilliseconds)
    {
        var totals = classified.Totals;
        var gcInfo = GC.GetGCMemoryInfo(GCKind.Any);

        // GetTotalMemory(false) counts objects allocated since the last GC too, and no free space; with many pinned
        // objects its free-space deduction can overshoot below zero, and then the last GC's own figures stand in.
        var allocated = GC.GetTotalMemory(forceFullCollection: false);
        var objects = Math.Clamp(allocated > 0 ? allocated : gcInfo.HeapSizeBytes - gcInfo.FragmentedBytes, 0, totals.GcHeap);
        return new MemoryMap(
            Timestamp: _timeProvider.GetUtcNow(),
            ResidentBytes: totals.Sum,
            WorkingSetBytes: status.WorkingSetBytes,
            Mappings: mappings,
            Kinds: totals.ByName(),
            GcHeap: new GcHeapMemory(totals.GcHeap, objects, totals.GcHeap - objects, gcInfo.TotalCommittedBytes),
            ThreadStacks: new ThreadStackMemory(totals.ThreadStacks, classified.Stacks, status.Threads),
            Code: new CodeMemory(totals.Code, classified.JitBytes, classified.ReadyToRunBytes),
            LoadedFiles: new LoadedFileMemory(totals.LoadedFiles, classified.BytesByFileName.Count(b => b > 0), TopFileNames(classified.BytesByFileName)),
            NativeHeap: new NativeHeapMemory(totals.NativeHeap, classified.MainHeapBytes, classified.Arenas),
            OtherAnonymousBytes: totals.OtherAnonymous,
            GrowthSinceStart: null,
            ElapsedMilliseconds: elapsedMilliseconds);
    }

    private List<LoadedFileBytes> TopFileNames(long[] bytesByName)
    {
        var top = new List<LoadedFileBytes>(TopFiles + 1);
        for (var id = 0; id < bytesByName.Length; id++)
        {
            if (bytesByName[id] == 0 || (top.Count == TopFiles && bytesByName[id] <= top[^1].Bytes))
            {
                continue;
            }

            var entry = new LoadedFileBytes(_parser.Names[id], bytesByName[id]);
            var at = top.Count;
            while (at > 0 && top[at - 1].Bytes < entry.Bytes)
            {
                at--;
            }

            top.Insert(at, entry);
            if (top.Count > TopFiles)
            {
                top.RemoveAt(TopFiles);
            }
        }

        return top;
    }

    private static ulong AddressOf(byte[] array)
    {
        var handle = GCHandle.Alloc(array, GCHandleType.Pinned);
        try
        {
            return (ulong)handle.AddrOfPinnedObject();
        }
        finally
        {
            handle.Free();
        }
    }
}
