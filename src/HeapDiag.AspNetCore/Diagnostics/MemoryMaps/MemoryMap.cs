namespace HeapDiag.AspNetCore.Diagnostics.MemoryMaps;

// What GET /memory/map answers and what every dump's diagnostics hold as memoryMap. Every figure is resident memory
// (RSS) in bytes, as /proc/self/smaps reports it; the six kinds add up to ResidentBytes exactly.

/// <summary>The process's resident memory by kind, from <c>/proc/self/smaps</c> joined with the GC's own figures.</summary>
/// <param name="Timestamp">When the map was read.</param>
/// <param name="ResidentBytes">The sum of every mapping's resident memory: what the kinds add up to.</param>
/// <param name="WorkingSetBytes">The kernel's resident-set counter (VmRSS), read just after; it agrees with <paramref name="ResidentBytes"/> within a fraction of a percent.</param>
/// <param name="Mappings">How many mappings the process has.</param>
/// <param name="Kinds">The six kinds, largest first (the page's stacked bar).</param>
/// <param name="GcHeap">The GC heap: its reserved range's resident memory.</param>
/// <param name="ThreadStacks">Thread stacks.</param>
/// <param name="Code">JIT-compiled code and ReadyToRun code.</param>
/// <param name="LoadedFiles">Other mapped files: assemblies' data, native libraries, data files.</param>
/// <param name="NativeHeap">glibc malloc: the main heap and its arenas.</param>
/// <param name="OtherAnonymousBytes">Anonymous memory none of the above explains: malloc's large blocks (mapped one by one), the runtime's own tables, GC bookkeeping, native libraries' own mappings.</param>
/// <param name="GrowthSinceStart">Growth of each kind since the first map of this process (normally the monitor's first tick); null for the first.</param>
/// <param name="ElapsedMilliseconds">How long reading and classifying took.</param>
internal sealed record MemoryMap(
    DateTimeOffset Timestamp,
    long ResidentBytes,
    long WorkingSetBytes,
    int Mappings,
    IReadOnlyList<MemoryKindBytes> Kinds,
    GcHeapMemory GcHeap,
    ThreadStackMemory ThreadStacks,
    CodeMemory Code,
    LoadedFileMemory LoadedFiles,
    NativeHeapMemory NativeHeap,
    long OtherAnonymousBytes,
    MemoryMapGrowth? GrowthSinceStart,
    double ElapsedMilliseconds)
{
    /// <summary>The six kinds' bytes as one value, for growth.</summary>
    public MemoryKindTotals Totals => new(GcHeap.Bytes, ThreadStacks.Bytes, Code.Bytes, LoadedFiles.Bytes, NativeHeap.Bytes, OtherAnonymousBytes);
}

/// <summary>One kind in <see cref="MemoryMap.Kinds"/>: its name (<see cref="MemoryKinds"/>) and resident bytes.</summary>
internal sealed record MemoryKindBytes(string Kind, long Bytes);

/// <summary>
/// The GC heap's resident memory: <see cref="InUseBytes"/> holds objects (live, or dead and not yet collected);
/// <see cref="FreeBytes"/> is resident but free — fragmentation between objects (pinned objects cause it) and memory the
/// GC committed and keeps for later allocations.
/// </summary>
internal sealed record GcHeapMemory(long Bytes, long InUseBytes, long FreeBytes, long CommittedBytes);

/// <summary>Thread stacks: the resident part of each (a stack is reserved whole but resident only as deep as it was used).</summary>
/// <param name="Bytes">Resident bytes of all stacks found.</param>
/// <param name="Stacks">Stack mappings found.</param>
/// <param name="Threads">The process's threads (from <c>/proc/self/status</c>).</param>
internal sealed record ThreadStackMemory(long Bytes, int Stacks, int Threads);

/// <summary>Code: the runtime's executable memory (JIT-compiled code, stubs and the loader heaps it keeps beside them) and the executable parts of ReadyToRun assemblies.</summary>
internal sealed record CodeMemory(long Bytes, long JitBytes, long ReadyToRunBytes);

/// <summary>Mapped files other than code, with the largest by file name.</summary>
internal sealed record LoadedFileMemory(long Bytes, int Files, IReadOnlyList<LoadedFileBytes> Top);

/// <summary>One mapped file and its resident bytes.</summary>
internal sealed record LoadedFileBytes(string Name, long Bytes);

/// <summary>glibc malloc's memory: the main heap (<c>[heap]</c>) and the arenas it adds for threads (64 MiB reserved each).</summary>
/// <param name="Bytes">Resident bytes of the main heap and all arenas.</param>
/// <param name="MainHeapBytes">The main heap's part.</param>
/// <param name="Arenas">Arenas, the main one included (an arena that grew past 64 MiB counts once per 64 MiB).</param>
internal sealed record NativeHeapMemory(long Bytes, long MainHeapBytes, int Arenas);

/// <summary>How each kind changed since <see cref="Since"/> (largest growth first), and the resident set with them.</summary>
/// <param name="Since">When the earlier map was read.</param>
/// <param name="ResidentBytes">The change of the resident set.</param>
/// <param name="Kinds">The change of each kind, largest growth first.</param>
/// <param name="GcHeapFreeBytes">The change of the GC heap's free part (fragmentation, memory kept committed).</param>
/// <param name="ThreadsDelta">The change in the number of threads.</param>
/// <param name="ArenasDelta">The change in the number of malloc arenas.</param>
internal sealed record MemoryMapGrowth(DateTimeOffset Since, long ResidentBytes, IReadOnlyList<MemoryKindBytes> Kinds, long GcHeapFreeBytes, int ThreadsDelta, int ArenasDelta)
{
    /// <summary>The change of one kind (<see cref="MemoryKinds"/>).</summary>
    public long Of(string kind)
    {
        foreach (var entry in Kinds)
        {
            if (entry.Kind == kind)
            {
                return entry.Bytes;
            }
        }

        return 0;
    }
}

/// <summary>The names of the kinds, as the JSON and the page show them.</summary>
internal static class MemoryKinds
{
    public const string GcHeap = "gcHeap";
    public const string ThreadStacks = "threadStacks";
    public const string Code = "code";
    public const string LoadedFiles = "loadedFiles";
    public const string NativeHeap = "nativeHeap";
    public const string OtherAnonymous = "otherAnonymous";
}

/// <summary>The six kinds' bytes (or their change).</summary>
internal readonly record struct MemoryKindTotals(long GcHeap, long ThreadStacks, long Code, long LoadedFiles, long NativeHeap, long OtherAnonymous)
{
    public long Sum => GcHeap + ThreadStacks + Code + LoadedFiles + NativeHeap + OtherAnonymous;

    public static MemoryKindTotals operator -(MemoryKindTotals after, MemoryKindTotals before) => new(
        after.GcHeap - before.GcHeap,
        after.ThreadStacks - before.ThreadStacks,
        after.Code - before.Code,
        after.LoadedFiles - before.LoadedFiles,
        after.NativeHeap - before.NativeHeap,
        after.OtherAnonymous - before.OtherAnonymous);

    /// <summary>The kinds by name, largest first.</summary>
    public List<MemoryKindBytes> ByName()
    {
        List<MemoryKindBytes> kinds =
        [
            new(MemoryKinds.GcHeap, GcHeap),
            new(MemoryKinds.ThreadStacks, ThreadStacks),
            new(MemoryKinds.Code, Code),
            new(MemoryKinds.LoadedFiles, LoadedFiles),
            new(MemoryKinds.NativeHeap, NativeHeap),
            new(MemoryKinds.OtherAnonymous, OtherAnonymous),
        ];
        kinds.Sort(static (a, b) => b.Bytes.CompareTo(a.Bytes));
        return kinds;
    }
}
