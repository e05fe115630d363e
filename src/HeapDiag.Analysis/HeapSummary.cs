namespace HeapDiag.Analysis;

/// <summary>
/// What fills the heap in one dump: live objects by type and by generation, retained sizes, duplicate strings.
/// </summary>
/// <param name="DumpFileName">File name of the dump (no directory, so a summary can be shown to people who should not see server paths).</param>
/// <param name="DumpFileBytes">Size of the dump file in bytes.</param>
/// <param name="ClrVersion">Version of the .NET runtime that wrote the dump, for example <c>10.0.12</c>.</param>
/// <param name="PointerSize">Pointer size of the dumped process in bytes (8 for 64-bit).</param>
/// <param name="Counting">
/// Which objects the per-type and per-generation numbers count. Always <see cref="CountingModes.Live"/>:
/// objects reachable from GC roots, found by a mark pass over the dump.
/// </param>
/// <param name="Live">Totals over live objects (reachable from GC roots).</param>
/// <param name="InHeap">Totals over every object in the heap, including unreachable objects no GC has swept yet.</param>
/// <param name="Types">Every type with at least one live object, by shallow bytes, largest first. Diffs compare these lists.</param>
/// <param name="TopByBytes">The first <see cref="SummaryOptions.Top"/> entries of <paramref name="Types"/>.</param>
/// <param name="TopByCount">The <see cref="SummaryOptions.Top"/> types with the most live objects.</param>
/// <param name="Generations">Live objects per GC generation: gen0, gen1, gen2, loh, poh, frozen.</param>
/// <param name="RetainedBytes">
/// Retained size (bytes that would become unreachable if every instance of the type disappeared), computed over the
/// dominator tree for the types in <paramref name="TopByBytes"/>; <see langword="null"/> when retained sizes were
/// turned off or did not fit the memory budget (<paramref name="Notes"/> says so).
/// </param>
/// <param name="DuplicateStrings">Live strings whose value occurs more than once.</param>
/// <param name="Notes">Sentences a person should read next to the numbers (what was counted, what was skipped and why).</param>
/// <param name="AnalysisDurationMs">Wall-clock time the analysis took, in milliseconds.</param>
public sealed record HeapSummary(
    string DumpFileName,
    long DumpFileBytes,
    string ClrVersion,
    int PointerSize,
    string Counting,
    HeapTotals Live,
    HeapTotals InHeap,
    IReadOnlyList<TypeStats> Types,
    IReadOnlyList<TypeStats> TopByBytes,
    IReadOnlyList<TypeStats> TopByCount,
    IReadOnlyList<GenerationStats> Generations,
    IReadOnlyList<TypeRetainedSize>? RetainedBytes,
    DuplicateStringStats DuplicateStrings,
    IReadOnlyList<string> Notes,
    long AnalysisDurationMs)
{
    /// <summary>What the heap walk left out because the dump is damaged (skipped objects, dropped references, unreadable bytes); null when nothing was.</summary>
    public HeapDamage? Damage { get; init; }
}

/// <summary>Names of the ways objects can be counted (<see cref="HeapSummary.Counting"/>).</summary>
public static class CountingModes
{
    /// <summary>Objects reachable from GC roots (static fields, stacks, handles, the finalizer queue), found by a mark pass.</summary>
    public const string Live = "live";
}

/// <summary>A number of objects and the bytes they occupy.</summary>
/// <param name="Objects">Number of objects.</param>
/// <param name="Bytes">Shallow size of those objects in bytes (each object's own size, not what it references).</param>
public sealed record HeapTotals(long Objects, long Bytes);

/// <summary>Live objects of one type.</summary>
/// <param name="Name">Full type name as the runtime reports it, for example <c>MyApp.Order</c> or <c>System.Byte[]</c>.</param>
/// <param name="Count">Number of live objects.</param>
/// <param name="Bytes">Their total shallow size in bytes.</param>
public sealed record TypeStats(string Name, long Count, long Bytes);

/// <summary>Live objects in one GC generation or heap.</summary>
/// <param name="Generation"><c>gen0</c>, <c>gen1</c>, <c>gen2</c>, <c>loh</c> (large objects), <c>poh</c> (pinned objects) or <c>frozen</c> (read-only, never collected).</param>
/// <param name="Objects">Number of live objects.</param>
/// <param name="Bytes">Their total shallow size in bytes.</param>
public sealed record GenerationStats(string Generation, long Objects, long Bytes);

/// <summary>Retained size of all live instances of one type.</summary>
/// <param name="Name">Full type name.</param>
/// <param name="Count">Number of live objects of the type.</param>
/// <param name="ShallowBytes">Their own size in bytes.</param>
/// <param name="RetainedBytes">
/// Bytes kept alive only through these instances: the objects they dominate in the dominator tree, themselves included.
/// Instances nested inside other instances of the same type are counted once.
/// </param>
public sealed record TypeRetainedSize(string Name, long Count, long ShallowBytes, long RetainedBytes);

/// <summary>Live strings whose value occurs more than once.</summary>
/// <param name="WastedBytes">Bytes that all but one copy of every duplicated value take up.</param>
/// <param name="DuplicatedValues">Number of distinct values that occur more than once.</param>
/// <param name="Top">The values that waste the most bytes, most first.</param>
public sealed record DuplicateStringStats(long WastedBytes, long DuplicatedValues, IReadOnlyList<DuplicateString> Top);

/// <summary>One duplicated string value.</summary>
/// <param name="Value">The value, cut to about 100 characters (an ellipsis marks a cut).</param>
/// <param name="Length">Length of the full value in characters.</param>
/// <param name="Count">Number of live string objects holding this value.</param>
/// <param name="BytesEach">Size of one such string object in bytes.</param>
/// <param name="WastedBytes">(<paramref name="Count"/> − 1) × <paramref name="BytesEach"/>.</param>
public sealed record DuplicateString(string Value, int Length, long Count, long BytesEach, long WastedBytes);
