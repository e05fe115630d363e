namespace HeapDiag.Analysis;

/// <summary>
/// Where memory accumulates in one dump, as Eclipse Memory Analyzer's Leak Suspects report shows it: the objects (or
/// groups of same-typed objects) that retain a large share of the live heap, the object inside each where the memory
/// piles up, and the shortest path from a GC root to it.
/// </summary>
/// <param name="DumpFileName">File name of the dump.</param>
/// <param name="Live">Live objects and bytes (reachable from GC roots): what the percentages are of.</param>
/// <param name="ThresholdPercent">A suspect retains at least this percent of <see cref="HeapTotals.Bytes"/> of <paramref name="Live"/>.</param>
/// <param name="BaselineDumpFileName">The dump the suspects were compared with (<see cref="HeapDumpAnalyzer.CompareSuspects"/>), or null.</param>
/// <param name="Suspects">
/// The suspects, the largest accumulation first: a holder is ranked by the bytes that pile up in it, not by what its
/// child suspects hold (with a baseline: largest growth first). <c>Suspects[0]</c> is the leak's accumulation point.
/// </param>
/// <param name="Notes">Sentences a person should read next to the suspects.</param>
/// <param name="AnalysisDurationMs">Wall-clock time the analysis took, in milliseconds.</param>
public sealed record LeakSuspectReport(
    string DumpFileName,
    HeapTotals Live,
    double ThresholdPercent,
    string? BaselineDumpFileName,
    IReadOnlyList<LeakSuspect> Suspects,
    IReadOnlyList<string> Notes,
    long AnalysisDurationMs)
{
    /// <summary>What the heap walk left out because the dump is damaged (skipped objects, dropped references, unreadable bytes); null when nothing was.</summary>
    public HeapDamage? Damage { get; init; }
}

/// <summary>One place where a large share of the live heap accumulates.</summary>
/// <param name="Fingerprint">
/// 16 hex digits hashed from the root path's types and fields (no addresses, no counts), so the same leak has the
/// same fingerprint in every dump, process and instance, and two dumps can be matched by it.
/// </param>
/// <param name="Kind"><see cref="SuspectKinds.Object"/>, <see cref="SuspectKinds.Instances"/> or <see cref="SuspectKinds.Runtime"/>.</param>
/// <param name="Headline">One sentence for a person: what holds the memory, how much, and since when with a baseline.</param>
/// <param name="Suspect">The top of the dominator subtree (for <see cref="SuspectKinds.Instances"/>: the group of instances; for <see cref="SuspectKinds.Runtime"/>: the runtime objects counted, such as the timers).</param>
/// <param name="AccumulationPoint">
/// The object inside the suspect where the retained size spreads out over many children: the collection (or array,
/// event, chain) that holds the memory. Reported as its owning collection when it is a collection's inside (the
/// <c>List&lt;T&gt;</c>, not its <c>T[]</c>).
/// </param>
/// <param name="Holds">What the accumulation point holds, for arrays and the usual collections; null otherwise.</param>
/// <param name="RootPath">The shortest path from a GC root to the accumulation point, written for a person.</param>
/// <param name="Growth">The change since the baseline dump; null without one.</param>
public sealed partial record LeakSuspect(
    string Fingerprint,
    string Kind,
    string Headline,
    SuspectObject Suspect,
    SuspectObject AccumulationPoint,
    CollectionContents? Holds,
    SuspectPath RootPath,
    SuspectGrowth? Growth)
{
    /// <summary>
    /// The known .NET retention pattern the suspect matches (an undisposed timer, an <c>IMemoryCache</c> without
    /// limits, …) with its fix, or the <c>application leak</c> pattern when none matches. Null only in reports written
    /// before patterns were reported.
    /// </summary>
    public LeakPattern? Pattern { get; init; }
}

/// <summary>A known way .NET code retains memory, as the catalogue of leak patterns describes it.</summary>
/// <param name="Id">Stable identifier for scripts: <c>undisposed-timer</c>, <c>memory-cache-unbounded</c>, …, or <c>application-leak</c>.</param>
/// <param name="Name">Short name for a person.</param>
/// <param name="Explanation">One sentence: why the memory stays.</param>
/// <param name="Fix">What to change in the code.</param>
/// <param name="Link">Documentation of the fix.</param>
public sealed record LeakPattern(string Id, string Name, string Explanation, string Fix, string Link);

/// <summary>An object (or group of same-typed objects) of a suspect and what it retains.</summary>
/// <param name="TypeName">Full type name as the runtime reports it.</param>
/// <param name="DisplayName">How a person would name it: the field or event that holds it (<c>Orders.Registry.pending</c>), else its type.</param>
/// <param name="Address">Address in the dump (hex), for a debugger; for a group, that of one instance.</param>
/// <param name="InstanceCount">1 for an object; the number of instances for a group.</param>
/// <param name="RetainedBytes">Bytes that would be freed if it (all of them, for a group) were gone.</param>
/// <param name="RetainedPercent">Of the live bytes.</param>
public sealed record SuspectObject(string TypeName, string DisplayName, string Address, long InstanceCount, long RetainedBytes, double RetainedPercent);

/// <summary>What a collection, array, event or chain holds.</summary>
/// <param name="Kind">
/// The container's kind: <c>List</c>, <c>Dictionary</c>, <c>ConcurrentDictionary</c>, <c>ConcurrentBag</c>,
/// <c>HashSet</c>, <c>Queue</c>, <c>Stack</c>, <c>LinkedList</c>, <c>ImmutableDictionary</c>, …, <c>array</c>,
/// <c>event</c> or <c>chain</c>; for what the runtime's own structures keep, what they are (<c>timers</c>,
/// <c>linked CancellationTokenSources</c>, <c>DiagnosticListener subscriptions</c>).
/// </param>
/// <param name="ElementType">Element type (for dictionaries <c>Key, Value</c>; for events the subscribers' type; for the runtime's structures the application type they keep); null when unknown.</param>
/// <param name="Count">Number of elements (entries, subscribers, links).</param>
public sealed record CollectionContents(string Kind, string? ElementType, long Count);

/// <summary>The shortest chain of references from a GC root to an object, as a person reads it.</summary>
/// <param name="RootKind">One of the <see cref="RootKinds"/> names, or <c>service provider</c> for a DI singleton.</param>
/// <param name="Root">The root: <c>Namespace.Type.Field</c> for a static field, the service type for a DI singleton, else a short description.</param>
/// <param name="Steps">The steps: first the root, then one per field that leads to the next object (framework plumbing folded).</param>
/// <param name="Text">The steps joined with arrows, for example <c>static Orders.Startup.Registry → OrderRegistry.pending</c>.</param>
public sealed record SuspectPath(string RootKind, string Root, IReadOnlyList<SuspectPathStep> Steps, string Text);

/// <summary>One step of a <see cref="SuspectPath"/>.</summary>
/// <param name="Text">The step as shown: <c>static Orders.Startup.Registry</c>, <c>singleton Orders.Cache (service provider)</c>, <c>OrderRegistry.pending</c>, <c>Publisher.PriceChanged (event)</c>.</param>
/// <param name="TypeName">Full type name of the object the step reaches.</param>
/// <param name="FieldName">The field through which it is reached; null for the first step.</param>
public sealed record SuspectPathStep(string Text, string TypeName, string? FieldName);

/// <summary>How a suspect changed since the baseline dump, matched by <see cref="LeakSuspect.Fingerprint"/>.</summary>
/// <param name="IsNew">No suspect of the baseline has this fingerprint.</param>
/// <param name="BaselineRetainedBytes">Retained bytes of the accumulation point in the baseline; null when new.</param>
/// <param name="RetainedBytesDelta">Now minus then (everything, when new).</param>
public sealed record SuspectGrowth(bool IsNew, long? BaselineRetainedBytes, long RetainedBytesDelta);

/// <summary>The kinds of <see cref="LeakSuspect"/>.</summary>
public static class SuspectKinds
{
    /// <summary>One object whose dominator subtree retains the share.</summary>
    public const string Object = "object";

    /// <summary>Many small instances of one type that together retain the share (each is a subtree of its own).</summary>
    public const string Instances = "instances";

    /// <summary>
    /// Objects kept alive only by the runtime's own structures (timer queues, <c>CancellationTokenSource</c>
    /// registrations, <c>DiagnosticListener</c> subscriptions), grouped and named by the application type they keep.
    /// </summary>
    public const string Runtime = "runtime";
}
