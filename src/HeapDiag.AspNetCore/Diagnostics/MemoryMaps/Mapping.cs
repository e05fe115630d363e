namespace HeapDiag.AspNetCore.Diagnostics.MemoryMaps;

/// <summary>One mapping of <c>/proc/self/smaps</c>: as much as the classification needs, and nothing it must allocate for.</summary>
internal struct Mapping
{
    public ulong Start;
    public ulong End;
    public MappingPermissions Permissions;
    public MappingSource Source;

    /// <summary>For <see cref="MappingSource.Assembly"/> and <see cref="MappingSource.File"/>: the file name's id in <see cref="FileNames"/>; otherwise -1.</summary>
    public int NameId;
    public long ResidentBytes;

    public readonly ulong Size => End - Start;

    public readonly bool IsAnonymous => Source == MappingSource.Anonymous;

    /// <summary>Neither readable, writable nor executable: a reservation or a guard.</summary>
    public readonly bool IsInaccessible => (Permissions & (MappingPermissions.Read | MappingPermissions.Write | MappingPermissions.Execute)) == 0;
}

[Flags]
internal enum MappingPermissions : byte
{
    None = 0,
    Read = 1,
    Write = 2,
    Execute = 4,
    Shared = 8,
}

/// <summary>What backs a mapping, from its path column.</summary>
internal enum MappingSource : byte
{
    /// <summary>No path, or a named anonymous mapping (<c>[anon:…]</c>).</summary>
    Anonymous,

    /// <summary><c>[heap]</c>: glibc's main heap (the program break).</summary>
    MainHeap,

    /// <summary><c>[stack]</c>: the main thread's stack.</summary>
    MainStack,

    /// <summary><c>/memfd:doublemapper</c>: the runtime's executable memory (JIT code, stubs, loader heaps), mapped twice for W^X.</summary>
    RuntimeCode,

    /// <summary>A <c>.dll</c>: a managed assembly the runtime mapped.</summary>
    Assembly,

    /// <summary>Any other file: native libraries, data files, shared memory.</summary>
    File,

    /// <summary><c>[vdso]</c>, <c>[vvar]</c> and the like.</summary>
    Kernel,
}
