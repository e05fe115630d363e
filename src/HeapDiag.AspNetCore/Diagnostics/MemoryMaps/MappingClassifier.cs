namespace HeapDiag.AspNetCore.Diagnostics.MemoryMaps;

/// <summary>What <see cref="MappingClassifier"/> found: the six kinds' resident bytes and the counts behind them.</summary>
internal readonly record struct ClassifiedMemory(
    MemoryKindTotals Totals,
    long JitBytes,
    long ReadyToRunBytes,
    long MainHeapBytes,
    int Arenas,
    int Stacks,
    long[] BytesByFileName);

/// <summary>
/// Sorts each mapping into one kind. Files say what they are by their path. Anonymous mappings do not, so they are
/// told apart by where they are and what surrounds them:
/// <list type="bullet">
/// <item>the GC heap is the range the GC reserved (<see cref="GcHeapRange"/>);</item>
/// <item>a glibc malloc arena is 64 MiB heaps reserved at 64 MiB boundaries, their used part readable and writable, the
/// rest not (full heaps side by side are one mapping of several 64 MiB);</item>
/// <item>a thread stack is readable and writable just above an inaccessible guard of at most 64 KiB (glibc puts the guard
/// below the stack it allocates with the thread);</item>
/// <item>anonymous executable memory is code;</item>
/// <item>the rest is "other anonymous".</item>
/// </list>
/// </summary>
internal static class MappingClassifier
{
    public const ulong ArenaBytes = 64UL << 20;
    public const ulong MaxGuardBytes = 64UL << 10;
    public const ulong MaxStackBytes = 64UL << 20;

    public static ClassifiedMemory Classify(ReadOnlySpan<Mapping> mappings, int fileNames, GcHeapRange gcHeap)
    {
        long gc = 0, stacks = 0, jit = 0, readyToRun = 0, files = 0, mainHeap = 0, arenaBytes = 0, other = 0;
        int arenas = 0, stackCount = 0;
        var byFile = new long[fileNames];
        for (var i = 0; i < mappings.Length; i++)
        {
            var mapping = mappings[i];
            var resident = mapping.ResidentBytes;
            switch (mapping.Source)
            {
                case MappingSource.MainHeap:
                    mainHeap += resident;
                    arenas++;
                    break;
                case MappingSource.MainStack:
                    stacks += resident;
                    stackCount++;
                    break;
                case MappingSource.RuntimeCode:
                    jit += resident;
                    break;
                case MappingSource.Assembly when (mapping.Permissions & MappingPermissions.Execute) != 0:
                    readyToRun += resident;
                    break;
                case MappingSource.Assembly or MappingSource.File:
                    files += resident;
                    byFile[mapping.NameId] += resident;
                    break;
                case MappingSource.Anonymous when gcHeap.Contains(mapping):
                    gc += resident;
                    break;
                case MappingSource.Anonymous when ArenaHeaps(mappings, i) is > 0 and var heaps:
                    arenaBytes += resident;
                    arenas += heaps;
                    break;
                case MappingSource.Anonymous when IsStack(mappings, i):
                    stacks += resident;
                    stackCount++;
                    break;
                case MappingSource.Anonymous when (mapping.Permissions & MappingPermissions.Execute) != 0:
                    jit += resident;
                    break;
                default:
                    other += resident;
                    break;
            }
        }

        var totals = new MemoryKindTotals(gc, stacks, jit + readyToRun, files, mainHeap + arenaBytes, other);
        return new ClassifiedMemory(totals, jit, readyToRun, mainHeap, arenas, stackCount, byFile);
    }

    /// <summary>
    /// How many 64 MiB malloc heaps the mapping at <paramref name="i"/> spans (0: not an arena's). A heap's used part is
    /// readable and writable, the rest of its 64 MiB inaccessible; once a heap is full, glibc adds the next at the next
    /// 64 MiB boundary, and the kernel merges a full heap's mapping with the next heap's used part (same permissions,
    /// adjacent): a run of N full heaps, and a partial one after it, is one mapping from a 64 MiB boundary that, with
    /// the inaccessible rest after it, spans a multiple of 64 MiB. A native leak of hundreds of megabytes in one arena
    /// looks like that.
    /// </summary>
    private static int ArenaHeaps(ReadOnlySpan<Mapping> mappings, int i)
    {
        var mapping = mappings[i];
        if (mapping.Start % ArenaBytes != 0 || (mapping.Permissions & MappingPermissions.Write) == 0)
        {
            return 0;
        }

        var end = mapping.End;
        if (i + 1 < mappings.Length && mappings[i + 1] is { IsAnonymous: true, IsInaccessible: true } reserve && reserve.Start == end)
        {
            end = reserve.End;
        }

        var span = end - mapping.Start;
        return span % ArenaBytes == 0 ? (int)(span / ArenaBytes) : 0;
    }

    private static bool IsStack(ReadOnlySpan<Mapping> mappings, int i)
    {
        var mapping = mappings[i];
        return (mapping.Permissions & (MappingPermissions.Write | MappingPermissions.Execute)) == MappingPermissions.Write
            && mapping.Size <= MaxStackBytes
            && i > 0
            && mappings[i - 1] is { IsAnonymous: true, IsInaccessible: true } guard
            && guard.End == mapping.Start
            && guard.Size <= MaxGuardBytes;
    }
}
