namespace HeapDiag.Analysis;

/// <summary>
/// Why instances of a type are still alive: the shortest reference chains from GC roots to a sample of them,
/// grouped by identical chain.
/// </summary>
/// <param name="DumpFileName">File name of the dump.</param>
/// <param name="TypeName">Full name of the type the report is about (resolved from the name that was asked for).</param>
/// <param name="InstanceCount">Number of live instances of the type.</param>
/// <param name="SampledCount">Number of instances whose chains were traced (spread evenly over the heap).</param>
/// <param name="Paths">Distinct chains, the most common first; at most <see cref="RetainerOptions.Top"/> entries.</param>
/// <param name="Notes">Sentences a person should read next to the chains.</param>
/// <param name="AnalysisDurationMs">Wall-clock time the analysis took, in milliseconds.</param>
public sealed record RetentionReport(
    string DumpFileName,
    string TypeName,
    long InstanceCount,
    int SampledCount,
    IReadOnlyList<RetentionPath> Paths,
    IReadOnlyList<string> Notes,
    long AnalysisDurationMs)
{
    /// <summary>What the heap walk left out because the dump is damaged (skipped objects, dropped references, unreadable bytes); null when nothing was.</summary>
    public HeapDamage? Damage { get; init; }
}

/// <summary>One reference chain from a GC root to an instance, and how many sampled instances it keeps alive.</summary>
/// <param name="Count">Number of sampled instances held by exactly this chain.</param>
/// <param name="RootKind">What kind of root starts the chain; one of the <see cref="RootKinds"/> names.</param>
/// <param name="Root">
/// Which root: for a static field its declaring type and name (<c>MyApp.Cache.Items</c>); for other kinds a short description.
/// </param>
/// <param name="Steps">
/// The objects on the chain, from the object the root references to the instance itself. Each step after the first
/// names the field (or <c>[]</c> for an array element) through which the previous object references it.
/// </param>
public sealed record RetentionPath(int Count, string RootKind, string Root, IReadOnlyList<RetentionStep> Steps);

/// <summary>One object on a reference chain.</summary>
/// <param name="TypeName">Full type name of the object.</param>
/// <param name="FieldName">
/// Field of the previous object that references this one (<c>_items</c>, <c>[]</c> for an array element,
/// <c>key.value</c> for a field inside a struct); <see langword="null"/> for the first step, which the root references.
/// </param>
public sealed record RetentionStep(string TypeName, string? FieldName);

/// <summary>Names of the kinds of GC roots a <see cref="RetentionPath"/> can start from.</summary>
public static class RootKinds
{
    /// <summary>A static field; <see cref="RetentionPath.Root"/> is <c>Namespace.Type.Field</c>.</summary>
    public const string StaticField = "static field";

    /// <summary>A <c>[ThreadStatic]</c> field on one thread (what <c>ThreadLocal&lt;T&gt;</c> keeps its values in); <see cref="RetentionPath.Root"/> is <c>Namespace.Type.Field</c>.</summary>
    public const string ThreadStatic = "thread static";

    /// <summary>A local variable or argument on a thread's stack (or a register of a thread).</summary>
    public const string Stack = "stack";

    /// <summary>A strong GC handle (for example <c>GCHandle.Alloc</c>, or runtime-owned handles).</summary>
    public const string StrongHandle = "strong handle";

    /// <summary>A pinned GC handle (for example <c>fixed</c> buffers handed to native code, or async I/O buffers).</summary>
    public const string PinnedHandle = "pinned handle";

    /// <summary>An object waiting for its finalizer to run.</summary>
    public const string FinalizerQueue = "finalizer queue";

    /// <summary>Any other root the runtime reports (ref-counted handles, thread statics, …).</summary>
    public const string Other = "other";
}
