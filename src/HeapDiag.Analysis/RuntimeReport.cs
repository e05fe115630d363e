namespace HeapDiag.Analysis;

/// <summary>
/// What the runtime held when the dump was written, beside the objects: GC handles, the finalizer queue, threads,
/// modules and dynamic assemblies, and the free space in each generation with the pinned objects that keep it there.
/// The memory a heap dump's object counts do not explain usually shows up here first.
/// </summary>
/// <param name="DumpFileName">The dump's file name.</param>
/// <param name="ClrVersion">The runtime's version.</param>
/// <param name="Handles">GC handles by kind (strong, pinned, weak, dependent, async-pinned, …), most first, with the types they hold most.</param>
/// <param name="Finalizer">Objects registered for finalization and those ready for it (waiting for the finalizer thread).</param>
/// <param name="Threads">Managed threads by state.</param>
/// <param name="Modules">Loaded modules, the dynamic ones grouped by the generator that named them.</param>
/// <param name="Fragmentation">Each generation's size, free space and the pinned objects right after free space.</param>
/// <param name="Notes">How to read the numbers.</param>
/// <param name="ElapsedMilliseconds">How long the inspection took.</param>
public sealed record RuntimeReport(
    string DumpFileName,
    string ClrVersion,
    IReadOnlyList<HandleKindStats> Handles,
    FinalizerQueueStats Finalizer,
    ThreadStats Threads,
    ModuleStats Modules,
    IReadOnlyList<GenerationFragmentation> Fragmentation,
    IReadOnlyList<string> Notes,
    long ElapsedMilliseconds);

/// <summary>The GC handles of one kind and the types of the objects they hold most.</summary>
public sealed record HandleKindStats(string Kind, long Count, IReadOnlyList<TypeStats> TopTypes);

/// <summary>The finalizer queue: objects registered for finalization, and those ready for it (unreachable, waiting for the finalizer thread).</summary>
public sealed record FinalizerQueueStats(long Registered, long Ready, IReadOnlyList<TypeStats> ReadyByType, IReadOnlyList<TypeStats> RegisteredByType);

/// <summary>Managed threads: how many, how many alive, and the count of each state.</summary>
public sealed record ThreadStats(int Count, int Alive, IReadOnlyList<NamedCount> States);

/// <summary>A name and a count.</summary>
public sealed record NamedCount(string Name, long Count);

/// <summary>Modules: how many, how many dynamic (emitted at run time), and the dynamic ones grouped by name with the numbers taken out (<c>Microsoft.GeneratedCode</c> from XmlSerializer, …).</summary>
public sealed record ModuleStats(int Count, int Dynamic, IReadOnlyList<NamedCount> TopDynamicGenerators);

/// <summary>
/// One generation: its bytes, the free space in it, and the pinned objects that sit right after free space — the GC
/// cannot move them, so it cannot close the gap before them.
/// </summary>
public sealed record GenerationFragmentation(string Generation, long Bytes, long FreeBytes, long PinnedObjects, IReadOnlyList<PinnedCause> PinnedCauses);

/// <summary>Pinned objects of one type after free space, and that free space.</summary>
public sealed record PinnedCause(string Type, long Objects, long FreeBytesBefore);
