using System.Globalization;
using HeapDiag.Analysis.Internal.Dominators;
using Microsoft.Diagnostics.Runtime;

namespace HeapDiag.Analysis.Internal.Suspects;

/// <summary>The application object a runtime group keeps: one of its instances, and the dense number to find its root path by.</summary>
/// <param name="Address">The instance the path leads to.</param>
/// <param name="Index">Its dense number among the live objects; −1 when none was found (the path then leads to a counted object).</param>
/// <param name="TypeName">Its type, as a person reads it in the headline (a closure as <c>closure in Type</c>); null when none was found.</param>
/// <param name="CountedAddress">The counted object (timer, linked source, subscription) it was found from.</param>
/// <param name="CountedIndex">That object's dense number.</param>
/// <param name="Noun">The counted objects' name when a <see cref="RuntimeVariant"/> of the hold applies to this one; else null.</param>
internal sealed record KeptObject(ulong Address, long Index, string? TypeName, ulong CountedAddress, long CountedIndex, string? Noun = null)
{
    /// <summary>What a root path is searched to: the application object, else the counted object.</summary>
    public long Target => Index >= 0 ? Index : CountedIndex;
}

/// <summary>
/// Describes a runtime group (<see cref="SuspectKinds.Runtime"/>) for a person: which application type its sampled
/// timers, linked sources or subscriptions keep (the callback's target, the captured closure, the observer), how
/// many there are and what they retain, with the root path to one of them.
/// </summary>
internal static class RuntimeDescriber
{
    private const int MaxDepth = 6;
    private const int MaxVisited = 256;

    /// <summary>
    /// The application type most samples keep, with the instance kept by the sample nearest the top of the dominator
    /// tree: its root path is searched for, and a sample deep in a long queue or list would make that search walk
    /// most of the heap to reach it.
    /// </summary>
    public static KeptObject Kept(LiveHeap heap, DominatorTree tree, SuspectCandidate candidate)
    {
        var hold = candidate.Runtime!.Runtime!;
        var found = new List<(KeptObject Kept, int Depth)>();
        foreach (var sample in candidate.Samples)
        {
            var counted = tree.RankOf(sample);
            found.Add((KeptBy(heap, heap.Live.AddressAt(counted), counted, hold), Depth(tree.ImmediateDominator, sample)));
        }

        var dominant = found.Where(k => k.Kept.TypeName is not null).GroupBy(k => k.Kept.TypeName).MaxBy(g => g.Count());
        return (dominant ?? found.AsEnumerable()).MinBy(k => k.Depth).Kept;
    }

    /// <summary>
    /// What the counted object at <paramref name="address"/> keeps: itself when it is the application's (an object in
    /// the finalizer queue), else the nearest application object it references.
    /// </summary>
    public static KeptObject KeptBy(LiveHeap heap, ulong address, long index, RuntimeHold hold)
    {
        var counted = heap.Dump.Heap.GetObject(address);
        var noun = hold.Variants?.FirstOrDefault(v => References(counted, v.Via))?.Noun;
        if (counted.Type?.Name is { } own && !TypeNames.IsFramework(own))
        {
            return new KeptObject(address, index, Name(own), address, index, noun);
        }

        return Find(heap.Dump, address, hold) is { } obj
            ? new KeptObject(obj.Address, heap.Live.IndexOf(obj.Address), Name(obj.Type!.Name!), address, index, noun)
            : new KeptObject(0, -1, null, address, index, noun);
    }

    private static bool References(ClrObject obj, string typePrefix) =>
        obj.IsValid && obj.EnumerateReferences(carefully: true).Any(r => r.Type?.Name?.StartsWith(typePrefix, StringComparison.Ordinal) == true);

    private static int Depth(IntArray immediateDominator, int vertex)
    {
        var depth = 0;
        for (var up = vertex; up > DominatorTree.Root; up = immediateDominator[up])
        {
            depth++;
        }

        return depth;
    }

    public static LeakSuspect Describe(SuspectCandidate candidate, KeptObject kept, RenderedPath rendered, string countedType, long live)
    {
        var entry = candidate.Runtime!;
        var hold = entry.Runtime!;
        var percent = SuspectDescriber.Percent(candidate.RetainedBytes, live);
        var keeps = kept.TypeName is null ? string.Empty : $" {hold.Keeps} {kept.TypeName}";
        var noun = kept.Noun ?? hold.Noun;
        var what = $"{noun}{keeps}";
        var group = new SuspectObject(countedType, noun, SuspectDescriber.Hex(kept.CountedAddress), candidate.InstanceCount, candidate.RetainedBytes, percent);
        var point = new SuspectObject(
            kept.TypeName is null ? countedType : kept.TypeName, what, SuspectDescriber.Hex(kept.Index >= 0 ? kept.Address : kept.CountedAddress),
            candidate.InstanceCount, candidate.RetainedBytes, percent);
        var headline = string.Create(
            CultureInfo.InvariantCulture,
            $"{candidate.InstanceCount:N0} {what} retain {SuspectDescriber.Megabytes(candidate.RetainedBytes)} MB ({percent:0} %)");
        var holds = new CollectionContents(hold.Kind, kept.TypeName, candidate.InstanceCount);

        // Where in the queue or list the sampled object sits is not part of the leak: the pattern and the kept type are.
        var fingerprint = rendered.Fingerprint($"{SuspectKinds.Runtime}|{entry.Pattern.Id}|{kept.TypeName}");
        return new LeakSuspect(fingerprint, SuspectKinds.Runtime, headline, group, point, holds, rendered.Path, null) { Pattern = entry.Pattern };
    }

    /// <summary>
    /// The nearest application object the counted object references through framework objects (delegates first:
    /// a callback's target is what the application registered), never through another counted object.
    /// </summary>
    private static ClrObject? Find(DumpSession dump, ulong address, RuntimeHold hold)
    {
        var start = dump.Heap.GetObject(address);
        if (!start.IsValid)
        {
            return null;
        }

        // What to name when no app object is found further on: an app array, or an async method's state machine
        // (a class in a debug build), which leads on to the object whose method it runs.
        ClrObject? fallback = null;
        var seen = new HashSet<ulong> { address };
        var queue = new PriorityQueue<ClrObject, (int Depth, int Delegate, int Order)>();
        queue.Enqueue(start, (0, 0, 0));
        while (queue.TryDequeue(out var current, out var priority) && seen.Count < MaxVisited)
        {
            foreach (var reference in current.EnumerateReferences(carefully: true, considerDependantHandles: false))
            {
                if (reference.Type?.Name is not { } name || !seen.Add(reference.Address) || hold.Counted.Contains(name, StringComparer.Ordinal))
                {
                    continue;
                }

                // An array of app objects and an async method's state machine lead on to the app objects they hold.
                var passThrough = IsAsyncStateMachine(name) || reference.Type.IsArray;
                if (!TypeNames.IsFramework(name) && !passThrough)
                {
                    return reference;
                }

                fallback ??= passThrough && !TypeNames.IsFramework(name) ? reference : null;
                if (priority.Depth + 1 < MaxDepth)
                {
                    queue.Enqueue(reference, (priority.Depth + 1, Containers.IsDelegate(reference.Type) ? 0 : 1, seen.Count));
                }
            }
        }

        return fallback;
    }

    /// <summary>A compiler-generated async state machine: <c>App.Worker+&lt;RunAsync&gt;d__2</c>.</summary>
    private static bool IsAsyncStateMachine(string typeName) =>
        typeName.Contains("+<", StringComparison.Ordinal) && typeName.Contains(">d__", StringComparison.Ordinal);

    /// <summary>The full name of an application type; a compiler-generated closure by the type it is in.</summary>
    private static string Name(string typeName)
    {
        var shortName = TypeNames.Short(typeName);
        return shortName.StartsWith("closure in ", StringComparison.Ordinal) || shortName.StartsWith("lambdas of ", StringComparison.Ordinal)
            ? shortName
            : typeName;
    }
}
