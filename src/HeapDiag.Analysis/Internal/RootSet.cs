using System.Collections.Immutable;
using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using Microsoft.Diagnostics.Runtime;
using Microsoft.Diagnostics.Runtime.AbstractDac;

namespace HeapDiag.Analysis.Internal;

/// <summary>One GC root: the object it references, what kind of root it is and, where known, its name.</summary>
internal readonly record struct HeapRoot(ulong Object, string Kind, string Name);

/// <summary>
/// Every GC root of the dump, static fields first, plus the dependent-handle edges (<c>ConditionalWeakTable</c>)
/// that keep an object alive while another one is.
/// </summary>
/// <remarks>
/// On .NET 8 and later, static fields live in runtime-owned arrays reached through handles, so ClrMD reports the
/// handle, not the field. To name the field, each static reference field's current value becomes a root of its own,
/// named <c>Namespace.Type.Field</c>, and comes first: a breadth-first search from these roots reaches an object
/// through its static field before it gets there through the anonymous handle and array.
/// </remarks>
internal sealed class RootSet
{
    /// <summary>The "offset" reported for a secondary object that a dependent handle keeps alive.</summary>
    public const int DependentHandleOffset = -1;

    /// <summary>
    /// The filter of primary objects has at least 32 bits per primary (about 3 % false positives, each a dictionary
    /// lookup), from 2^20 (128 KiB) to 2^27 (16 MiB).
    /// </summary>
    private const int BitsPerPrimary = 32;
    private const int MinFilterBitsLog2 = 20;
    private const int MaxFilterBitsLog2 = 27;

    /// <summary>
    /// The handles a pass follows: those that keep their object alive (a ref-counted one while its count is above
    /// zero) and the dependent ones. The weak kinds are not even listed; they are most of a big heap's handles.
    /// </summary>
    private static readonly ImmutableArray<ClrHandleKind> FollowedHandleKinds =
    [
        ClrHandleKind.Strong,
        ClrHandleKind.Pinned,
        ClrHandleKind.AsyncPinned,
        ClrHandleKind.SizedRef,
        ClrHandleKind.RefCounted,
        ClrHandleKind.Dependent,
    ];

    private readonly Dictionary<ulong, ulong[]> _dependents;

    /// <summary>
    /// One bit per hash of a primary object's address: every pass asks about every live object, and with a
    /// <c>ConditionalWeakTable</c> of many entries a dictionary lookup per object was a measurable share of the pass.
    /// Sized by the number of primaries: a fixed 2^20 bits let a quarter of the 60 M bench heap's objects through to
    /// the dictionary of its 300,000 primaries, a fifth of the whole analysis.
    /// </summary>
    private readonly ulong[] _primaryFilter;
    private readonly int _filterBitsLog2;

    private RootSet(IReadOnlyList<HeapRoot> roots, Dictionary<ulong, ulong[]> dependents)
    {
        Roots = roots;
        _dependents = dependents;
        DependentHandles = dependents.Values.Sum(secondaries => (long)secondaries.Length);
        _filterBitsLog2 = Math.Clamp(64 - BitOperations.LeadingZeroCount((ulong)dependents.Count * BitsPerPrimary), MinFilterBitsLog2, MaxFilterBitsLog2);
        _primaryFilter = new ulong[(1 << _filterBitsLog2) / 64];
        foreach (var primary in dependents.Keys)
        {
            var bit = FilterBit(primary);
            _primaryFilter[bit / 64] |= 1UL << (bit % 64);
        }
    }

    /// <summary>The roots; static fields first, then handles, thread statics, stacks, the finalizer queue and the rest.</summary>
    public IReadOnlyList<HeapRoot> Roots { get; }

    /// <summary>The dependent handles followed: one per secondary object.</summary>
    public long DependentHandles { get; }

    /// <summary>
    /// About what the roots and the lookup of dependent handles hold on the GC heap while the passes run: per root a
    /// list entry and its name (96 bytes); per primary a dictionary entry and bucket and the array of its secondaries
    /// (56 bytes and 8 per secondary); the filter.
    /// </summary>
    public long MemoryBytes => (Roots.Count * 96L) + (_dependents.Count * 56L) + (DependentHandles * sizeof(ulong)) + (_primaryFilter.LongLength * sizeof(ulong));

    public static RootSet Collect(DumpSession dump, CancellationToken cancellationToken)
    {
        var roots = new List<HeapRoot>();
        List<HeapRoot> threadStatics = [];
        ReaderStallGuard.Run(dump, "the static fields of its types", progress => threadStatics = AddStaticFields(dump.Runtime, roots, progress, cancellationToken), dump.Time, cancellationToken);
        var dependents = AddHandles(dump, roots);
        MarkPrimaryTypes(dump.Objects, dependents.Keys);

        // After the handles: where a handle and a thread static reach an object equally soon, the path keeps the handle it had.
        roots.AddRange(threadStatics);
        AddStacks(dump, roots, cancellationToken);
        foreach (var root in dump.Heap.EnumerateFinalizerRoots())
        {
            if (!root.Object.IsNull)
            {
                roots.Add(new HeapRoot(root.Object.Address, RootKinds.FinalizerQueue, "finalizer queue"));
            }
        }

        foreach (var root in dump.Heap.EnumerateAdditionalRoots())
        {
            if (ResolveObject(dump, root) is ulong address)
            {
                roots.Add(new HeapRoot(address, RootKindOf(root.RootKind), root.RootKind.ToString()));
            }
        }

        return new RootSet(roots, dependents);
    }

    /// <summary>
    /// Calls the visitor for each object a dependent handle keeps alive while the object at <paramref name="address"/>
    /// (of <paramref name="type"/>) is (<see cref="DependentHandleOffset"/> as the offset). Every pass over the graph
    /// calls this once per object, so an object whose type no primary has costs one test of a flag on the type at hand.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void VisitDependents<TVisitor>(ulong address, HeapType type, ref TVisitor visitor)
        where TVisitor : struct, IReferenceVisitor
    {
        if (type.HasDependentHandlePrimaries && MayBePrimary(address) && _dependents.TryGetValue(address, out var secondaries))
        {
            foreach (var secondary in secondaries)
            {
                visitor.Visit(secondary, DependentHandleOffset);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool MayBePrimary(ulong address)
    {
        var bit = FilterBit(address);
        return (_primaryFilter[bit / 64] & (1UL << (bit % 64))) != 0;
    }

    /// <summary>Objects are 8-byte aligned: drop those bits, then mix the rest (Fibonacci hashing) into the filter's range.</summary>
    private int FilterBit(ulong address) => (int)(((address >> 3) * 0x9E3779B97F4A7C15) >> (64 - _filterBitsLog2));

    /// <summary>
    /// Flags the types of the primary objects, so that a pass looks up only objects of those types. The filter of
    /// primaries is random access into megabytes: asked about every object of a 60 M-object heap, it was the costliest
    /// load of the whole mark pass (a fifth of the analysis), while the primaries of a <c>ConditionalWeakTable</c> are
    /// mostly of one or two types.
    /// </summary>
    private static void MarkPrimaryTypes(HeapObjects objects, IEnumerable<ulong> primaries)
    {
        foreach (var primary in primaries)
        {
            if (objects.GetType(primary) is { } type)
            {
                type.HasDependentHandlePrimaries = true;
            }
        }
    }

    /// <summary>
    /// Adds the strong and pinned handles to <paramref name="roots"/>; returns the dependent handles, by primary
    /// object, with the secondaries each keeps alive.
    /// </summary>
    private static Dictionary<ulong, ulong[]> AddHandles(DumpSession dump, List<HeapRoot> roots)
    {
        var dependents = new Dictionary<ulong, List<ulong>>();
        foreach (var handle in dump.EnumerateHandles(FollowedHandleKinds))
        {
            if (handle.Kind == ClrHandleKind.Dependent)
            {
                if (handle.Object != 0 && handle.DependentTarget != 0)
                {
                    if (!dependents.TryGetValue(handle.Object, out var secondaries))
                    {
                        dependents[handle.Object] = secondaries = [];
                    }

                    secondaries.Add(handle.DependentTarget);
                }
            }
            else if (IsStrong(handle) && handle.Object != 0)
            {
                var kind = handle.Kind is ClrHandleKind.Pinned or ClrHandleKind.AsyncPinned ? RootKinds.PinnedHandle
                    : handle.Kind == ClrHandleKind.Strong ? RootKinds.StrongHandle
                    : RootKinds.Other;
                roots.Add(new HeapRoot(handle.Object, kind, $"{handle.Kind} handle"));
            }
        }

        return dependents.ToDictionary(d => d.Key, d => d.Value.ToArray());
    }

    /// <summary>Whether the handle (of <see cref="FollowedHandleKinds"/>) keeps its object alive, as <see cref="ClrHandle.IsStrong"/> decides.</summary>
    private static bool IsStrong(in ClrHandleInfo handle) => handle.Kind switch
    {
        ClrHandleKind.RefCounted => handle.RefCount > 0,
        ClrHandleKind.Dependent => false,
        _ => true,
    };

    private static void AddStacks(DumpSession dump, List<HeapRoot> roots, CancellationToken cancellationToken)
    {
        foreach (var thread in dump.Runtime.Threads)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var name = string.Create(CultureInfo.InvariantCulture, $"thread {thread.ManagedThreadId} (OS id {thread.OSThreadId})");
            foreach (ClrRoot root in thread.EnumerateStackRoots())
            {
                if (ResolveObject(dump, root) is ulong address)
                {
                    roots.Add(new HeapRoot(address, RootKinds.Stack, name));
                }
            }
        }
    }

    /// <summary>Adds the static fields to <paramref name="roots"/>; returns the thread statics' values, read on the way.</summary>
    private static List<HeapRoot> AddStaticFields(ClrRuntime runtime, List<HeapRoot> roots, Action progress, CancellationToken cancellationToken)
    {
        var threadStatics = new List<HeapRoot>();
        var domains = runtime.AppDomains.ToList();
        foreach (var extra in new[] { runtime.SystemDomain, runtime.SharedDomain })
        {
            if (extra is not null && !domains.Contains(extra))
            {
                domains.Add(extra);
            }
        }

        foreach (var domain in domains)
        {
            foreach (var module in domain.Modules)
            {
                cancellationToken.ThrowIfCancellationRequested();
                foreach (var type in module.EnumerateTypesWithStaticFields())
                {
                    progress();
                    foreach (var field in type.StaticFields)
                    {
                        if (!field.IsObjectReference || !field.IsInitialized(domain))
                        {
                            continue;
                        }

                        var value = field.ReadObject(domain);
                        if (!value.IsNull)
                        {
                            roots.Add(new HeapRoot(value.Address, RootKinds.StaticField, $"{type.Name}.{field.Name}"));
                        }
                    }

                    AddThreadStatics(runtime, type, threadStatics);
                }
            }
        }

        return threadStatics;
    }

    /// <summary>
    /// Each thread's value of each <c>[ThreadStatic]</c> reference field of <paramref name="type"/>, named by the field:
    /// the storage the runtime keeps them in is reached through the thread, not through a handle a path could name.
    /// </summary>
    private static void AddThreadStatics(ClrRuntime runtime, ClrType type, List<HeapRoot> roots)
    {
        foreach (var field in type.ThreadStaticFields)
        {
            if (!field.IsObjectReference)
            {
                continue;
            }

            foreach (var thread in runtime.Threads)
            {
                if (thread.IsAlive && field.IsInitialized(thread) && field.ReadObject(thread) is { IsNull: false } value)
                {
                    roots.Add(new HeapRoot(value.Address, RootKinds.ThreadStatic, $"{type.Name}.{field.Name}"));
                }
            }
        }
    }

    /// <summary>
    /// The object a root keeps alive. A stack slot can hold an interior pointer (a <c>ref</c> into an object's field
    /// or an array element); the GC keeps the containing object alive, so find it.
    /// </summary>
    private static ulong? ResolveObject(DumpSession dump, ClrRoot root)
    {
        if (!root.Object.IsNull)
        {
            return root.Object.Address;
        }

        if (!root.IsInterior)
        {
            return null;
        }

        var pointer = dump.Memory.ReadPointer(root.Address);
        if (dump.Heap.GetSegmentByAddress(pointer) is null)
        {
            return null;
        }

        var container = dump.Heap.FindPreviousObjectOnSegment(pointer + 1);
        return container.IsValid && container.Address <= pointer && pointer < container.Address + container.Size
            ? container.Address
            : null;
    }

    private static string RootKindOf(ClrRootKind kind) => kind switch
    {
        ClrRootKind.StaticVar => RootKinds.StaticField,
        ClrRootKind.Stack => RootKinds.Stack,
        ClrRootKind.StrongHandle => RootKinds.StrongHandle,
        ClrRootKind.PinnedHandle or ClrRootKind.AsyncPinnedHandle => RootKinds.PinnedHandle,
        ClrRootKind.FinalizerQueue => RootKinds.FinalizerQueue,
        _ => RootKinds.Other,
    };
}
