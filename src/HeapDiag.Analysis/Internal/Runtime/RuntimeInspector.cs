using System.Diagnostics;
using System.Globalization;
using Microsoft.Diagnostics.Runtime;

namespace HeapDiag.Analysis.Internal.Runtime;

/// <summary>
/// Reads <see cref="RuntimeReport"/> from a dump: handles, finalizer queue, threads and modules from ClrMD's lists,
/// then one walk over the heap's objects for the free space and the pinned objects after it. No mark pass and no
/// dominator tree: it costs one walk, less than a summary.
/// </summary>
internal static class RuntimeInspector
{
    private const int TopTypes = 5;
    private const int TopGenerators = 10;

    public static RuntimeReport Inspect(DumpSession dump, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        var runtime = dump.Runtime;
        var (handles, pinned) = Handles(dump, cancellationToken);
        var finalizer = Finalizer(runtime.Heap, cancellationToken);
        var fragmentation = FragmentationWalk.Run(dump, pinned, cancellationToken);
        List<string> notes =
        [
            "Handles, finalizer queue and fragmentation count every object the dump holds, reachable or not.",
            "A pinned cause is a pinned object right after free space: the GC cannot move it, so it cannot close the gap before it. Objects pinned on a stack (fixed) are not known from the dump's handles and are not named.",
        ];
        return new RuntimeReport(dump.FileName, dump.ClrVersion, handles, finalizer, Threads(runtime), Modules(runtime), fragmentation, notes, stopwatch.ElapsedMilliseconds);
    }

    /// <summary>
    /// Handles by kind with their top types, and the addresses that pinned and async-pinned handles hold. The handles
    /// come as raw entries (<see cref="DumpSession.EnumerateHandles"/>) and their targets are read in place, so ClrMD
    /// keeps no object per handle for the rest of the session.
    /// </summary>
    private static (List<HandleKindStats> Handles, HashSet<ulong> Pinned) Handles(DumpSession dump, CancellationToken cancellationToken)
    {
        var byKind = new Dictionary<ClrHandleKind, TypeTally>();
        var pinned = new HashSet<ulong>();
        foreach (var handle in dump.EnumerateHandles())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!byKind.TryGetValue(handle.Kind, out var tally))
            {
                byKind[handle.Kind] = tally = new TypeTally();
            }

            var type = handle.Object == 0 ? null : dump.Objects.GetType(handle.Object);
            tally.Add(type?.Name, type is null ? 0 : (long)dump.Objects.GetSize(handle.Object, type));
            if (handle.Kind is ClrHandleKind.Pinned or ClrHandleKind.AsyncPinned && handle.Object != 0)
            {
                pinned.Add(handle.Object);
            }
        }

        var handles = byKind
            .Select(entry => new HandleKindStats(entry.Key.ToString(), entry.Value.Count, entry.Value.Top(TopTypes)))
            .OrderByDescending(stats => stats.Count)
            .ToList();
        return (handles, pinned);
    }

    private static FinalizerQueueStats Finalizer(ClrHeap heap, CancellationToken cancellationToken)
    {
        var ready = new TypeTally();
        foreach (var root in heap.EnumerateFinalizerRoots())
        {
            cancellationToken.ThrowIfCancellationRequested();
            ready.Add(root.Object.Type?.Name, root.Object.IsValid ? (long)root.Object.Size : 0);
        }

        var registered = new TypeTally();
        foreach (var item in heap.EnumerateFinalizableObjects())
        {
            cancellationToken.ThrowIfCancellationRequested();
            registered.Add(item.Type?.Name, item.IsValid ? (long)item.Size : 0);
        }

        return new FinalizerQueueStats(registered.Count, ready.Count, ready.Top(TopTypes), registered.Top(TopTypes));
    }

    private static ThreadStats Threads(ClrRuntime runtime)
    {
        var threads = runtime.Threads;
        var states = threads
            .GroupBy(ThreadLabel)
            .Select(group => new NamedCount(group.Key, group.LongCount()))
            .OrderByDescending(state => state.Count)
            .ToList();
        return new ThreadStats(threads.Length, threads.Count(thread => thread.IsAlive), states);
    }

    /// <summary>
    /// One word for what a thread is doing. ClrMD passes the runtime's thread state bits through unnamed; the bits
    /// used here are those of the runtime's <c>Thread::ThreadState</c> (threads.h).
    /// </summary>
    private static string ThreadLabel(ClrThread thread)
    {
        var state = (long)thread.State;
        return thread switch
        {
            { IsFinalizer: true } => "finalizer",
            { IsGc: true } => "gc",
            _ when (state & 0x800) != 0 || !thread.IsAlive => "dead",
            _ when (state & 0x400) != 0 => "unstarted",
            _ when (state & 0x1000000) != 0 => "thread pool worker",
            _ when (state & 0x8000000) != 0 => "thread pool I/O",
            _ when (state & 0x2000000) != 0 => "waiting, sleeping or joining",
            _ => "running",
        };
    }

    private static ModuleStats Modules(ClrRuntime runtime)
    {
        var modules = runtime.EnumerateModules().ToList();
        var dynamic = modules.Where(module => module.IsDynamic).ToList();
        var generators = dynamic
            .GroupBy(module => GeneratorName(module.AssemblyName ?? module.Name ?? FirstNamespace(runtime, module)))
            .Select(group => new NamedCount(group.Key, group.LongCount()))
            .OrderByDescending(generator => generator.Count)
            .Take(TopGenerators)
            .ToList();
        return new ModuleStats(modules.Count, dynamic.Count, generators);
    }

    /// <summary>
    /// A dynamic module has no file name, and the dump often does not give its assembly's name either; the namespace of
    /// the first type it defines names its generator as well (<c>Microsoft.Xml.Serialization.GeneratedAssembly</c>).
    /// </summary>
    private static string? FirstNamespace(ClrRuntime runtime, ClrModule module)
    {
        foreach (var (methodTable, _) in module.EnumerateTypeDefToMethodTableMap())
        {
            if (runtime.GetTypeByMethodTable(methodTable)?.Name is { } name && name != "<Module>")
            {
                var dot = name.LastIndexOf('.');
                return dot > 0 ? name[..dot] : name;
            }
        }

        return null;
    }

    /// <summary>An assembly name without its version and the numbers a generator appends (<c>App.Generated12</c> → <c>App.Generated*</c>).</summary>
    internal static string GeneratorName(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "(unnamed)";
        }

        var simple = name.Split(',')[0].Trim();
        var trimmed = simple.TrimEnd("0123456789".ToCharArray());
        return trimmed.Length < simple.Length ? string.Create(CultureInfo.InvariantCulture, $"{trimmed}*") : simple;
    }
}
