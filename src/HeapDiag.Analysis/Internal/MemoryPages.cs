using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HeapDiag.Analysis.Internal;

/// <summary>
/// What the kernel is told about the large arrays the passes read at random: to back them with 2 MiB pages, and to
/// map a scratch file's pages all at once.
/// </summary>
/// <remarks>
/// <para>
/// A random read of an array far larger than the CPU caches also misses the address translation cache: with 4 KiB
/// pages its entries cover a few MiB, so nearly every read walks the page tables too; with 2 MiB pages a 100 MB array
/// needs 50 entries. Most distributions ship transparent huge pages in <c>madvise</c> mode, where only memory the
/// process marks with <c>MADV_HUGEPAGE</c> before it is first touched gets them.
/// </para>
/// <para>
/// Each first touch of a 4 KiB page of a mapped scratch file is a page fault, and in a virtual machine a fault costs
/// microseconds: the dominator pass's arrays of a 60 M-object heap took 130,000 of them, about 1.5 s of its 20.
/// <c>MADV_POPULATE_WRITE</c> maps them in one call.
/// </para>
/// <para>Both are advice: where the kernel cannot follow it (another OS, an older kernel), the memory works as before.</para>
/// </remarks>
internal static partial class MemoryPages
{
    private const int AdviseHugePage = 14;
    private const int AdvisePopulateWrite = 23;
    private const long HugePageBytes = 2 << 20;

    /// <summary>
    /// A zeroed, pinned array of <paramref name="length"/> items, on huge pages where it spans some: allocated
    /// uninitialized, advised, then cleared, so that the clearing is the first touch. Pinned, so the advice stays with it.
    /// </summary>
    public static unsafe T[] AllocateOnHugePages<T>(int length)
        where T : unmanaged
    {
        var items = GC.AllocateUninitializedArray<T>(length, pinned: true);
        var bytes = (long)length * sizeof(T);
        if (OperatingSystem.IsLinux() && bytes >= 2 * HugePageBytes)
        {
            var start = (long)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(items));
            var first = (start + HugePageBytes - 1) & ~(HugePageBytes - 1);
            var end = (start + bytes) & ~(HugePageBytes - 1);
            _ = Advise((nint)first, (nuint)(end - first), AdviseHugePage);
        }

        items.AsSpan().Clear();
        return items;
    }

    /// <summary>Maps every page of a writable shared file mapping at once; <paramref name="start"/> is page-aligned.</summary>
    public static unsafe void Populate(byte* start, long bytes)
    {
        if (OperatingSystem.IsLinux())
        {
            _ = Advise((nint)start, (nuint)bytes, AdvisePopulateWrite);
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Advise(nint address, nuint length, int advice);
}
