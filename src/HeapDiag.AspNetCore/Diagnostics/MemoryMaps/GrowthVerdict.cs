using System.Globalization;

namespace HeapDiag.AspNetCore.Diagnostics.MemoryMaps;

/// <summary>
/// Where the growth since start is, when most of it is not objects on the GC heap: the kind, one sentence with the
/// numbers, and the fix that fits the kind. A heap dump will not show such a leak (or, for free GC memory, shows only
/// the pinned objects behind it), so the leak report says this first.
/// </summary>
/// <param name="Kind">The kind that grew most (<see cref="MemoryKinds"/>), or <c>gcHeapFree</c> for free memory on the GC heap.</param>
/// <param name="Headline">E.g. <c>Working set +820 MB since start, of which native heap +760 MB (31 malloc arenas, 64 threads); GC heap +12 MB: a heap dump will not show this leak</c>.</param>
/// <param name="Fix">What to do about that kind.</param>
internal sealed record GrowthVerdict(string Kind, string Headline, string Fix)
{
    public const string GcHeapFree = "gcHeapFree";

    /// <summary>Growth smaller than this says nothing: a warming process grows by tens of megabytes.</summary>
    public const long FloorBytes = 64L * 1024 * 1024;

    /// <summary>The share of the growth one kind must have to be named.</summary>
    public const double DominantShare = 0.5;

    /// <summary>The verdict on <paramref name="map"/>'s growth since start; null when it is small or mostly objects on the GC heap.</summary>
    /// <param name="map">A map with <see cref="MemoryMap.GrowthSinceStart"/>.</param>
    /// <param name="loadedAssemblies">The assemblies loaded now, named when code grew.</param>
    public static GrowthVerdict? Of(MemoryMap? map, int? loadedAssemblies = null)
    {
        if (map?.GrowthSinceStart is not { } growth || growth.ResidentBytes < FloorBytes)
        {
            return null;
        }

        var top = growth.Kinds[0];
        var gcGrowth = growth.Of(MemoryKinds.GcHeap);
        if (top.Bytes < growth.ResidentBytes * DominantShare)
        {
            return null;
        }

        if (top.Kind == MemoryKinds.GcHeap)
        {
            // Objects the dump shows are the managed leak's business; free GC memory (pinning, a GC that keeps memory) is not.
            return growth.GcHeapFreeBytes >= gcGrowth * DominantShare
                ? Make(GcHeapFree, growth, $"GC heap +{Mb(gcGrowth)} MB, of which free +{Mb(growth.GcHeapFreeBytes)} MB ({Mb(map.GcHeap.FreeBytes)} MB free of {Mb(map.GcHeap.Bytes)} MB)", "a heap dump shows the objects, not the free space between them", GcFreeFix)
                : null;
        }

        var detail = top.Kind switch
        {
            MemoryKinds.NativeHeap => $"native heap +{Mb(top.Bytes)} MB ({map.NativeHeap.Arenas} malloc arenas, {map.ThreadStacks.Threads} threads)",
            MemoryKinds.ThreadStacks => $"thread stacks +{Mb(top.Bytes)} MB ({map.ThreadStacks.Threads} threads, {growth.ThreadsDelta:+#,0;-#,0;+0} since start)",
            MemoryKinds.Code => $"code +{Mb(top.Bytes)} MB ({(loadedAssemblies is { } count ? $"{count:N0} assemblies loaded" : "JIT code and loader heaps")})",
            MemoryKinds.LoadedFiles => $"mapped files +{Mb(top.Bytes)} MB ({map.LoadedFiles.Files} files)",
            _ => $"other anonymous memory +{Mb(top.Bytes)} MB",
        };
        return Make(top.Kind, growth, detail, "a heap dump will not show this leak", FixFor(top.Kind));
    }

    private const string GcFreeFix =
        "Pinned buffers fragment the heap: pin briefly, or allocate long-lived buffers on the pinned object heap (GC.AllocateArray(length, pinned: true)). " +
        "A GC that keeps free memory committed gives it back with DOTNET_GCConserveMemory=5, or with DATAS (DOTNET_GCDynamicAdaptationMode=1) under Server GC.";

    private static string FixFor(string kind) => kind switch
    {
        MemoryKinds.NativeHeap =>
            "Find the owner of the native allocations: NativeMemory/Marshal.AllocHGlobal without a free, SafeHandles never disposed, a native library; " +
            "with many threads, cap glibc's malloc arenas with MALLOC_ARENA_MAX=2.",
        MemoryKinds.ThreadStacks =>
            "Threads that never end: find who starts them (new Thread, blocking waits that make the thread pool inject more); use the thread pool and async waits.",
        MemoryKinds.Code =>
            "Code generated and never unloaded: cache XmlSerializer instances (the constructors that take more than a Type emit a new assembly each time), " +
            "reuse compiled Regex and Expression.Compile results, and load generated code into a collectible AssemblyLoadContext.",
        MemoryKinds.LoadedFiles => "Files mapped and never unmapped: dispose MemoryMappedFile views; check for libraries loaded again and again.",
        _ => "Large native allocations (128 KiB and more are mapped one by one) or a native library's own mappings: find the owner of the unmanaged memory.",
    };

    private static GrowthVerdict Make(string kind, MemoryMapGrowth growth, string detail, string consequence, string fix)
    {
        var gc = kind == GcHeapFree ? string.Empty : $"; GC heap {Mb(growth.Of(MemoryKinds.GcHeap)):+#,0;-#,0;+0} MB";
        var headline = string.Create(CultureInfo.InvariantCulture, $"Working set {Mb(growth.ResidentBytes):+#,0;-#,0;+0} MB since start, of which {detail}{gc}: {consequence}");
        return new GrowthVerdict(kind, headline, fix);
    }

    private static long Mb(long bytes) => bytes / (1024 * 1024);
}
