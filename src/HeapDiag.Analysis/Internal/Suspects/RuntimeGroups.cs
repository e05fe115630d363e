using HeapDiag.Analysis.Internal.Dominators;

namespace HeapDiag.Analysis.Internal.Suspects;

/// <summary>
/// Leaks held by the runtime's own structures (timer queues, <c>CancellationTokenSource</c> registrations,
/// <c>DiagnosticListener</c> subscriptions) as one suspect each: the objects of a <see cref="RuntimeHold"/>'s counted
/// types are counted, the bytes under the outermost of them summed, and the suspects found inside the structure
/// (a chain's head, the timer queue, a group of timer objects) folded into it, so a person reads one suspect that
/// names what the application keeps there instead of three named after framework internals.
/// </summary>
internal sealed class RuntimeGroups
{
    private const int Samples = 50;

    /// <summary>How far above a counted object a framework holder of it is looked for: a queue of doubling segments is ~25 deep for 1 M items.</summary>
    private const int MaxLevelsToHolder = 32;

    private readonly DominatorTree _tree;
    private readonly IntArray _idom;
    private readonly IntArray _typeIds;
    private readonly long _threshold;

    private RuntimeGroups(DominatorTree tree, IntArray typeIds, long threshold)
    {
        _tree = tree;
        _idom = tree.ImmediateDominator;
        _typeIds = typeIds;
        _threshold = threshold;
    }

    /// <summary>
    /// The candidates with each runtime structure that retains at least the threshold on its own (not counting
    /// application suspects below it, such as a list a timer's callback captured) replaced by one group candidate.
    /// </summary>
    public static List<SuspectCandidate> Apply(DominatorTree tree, IntArray typeIds, long threshold, List<SuspectCandidate> candidates)
    {
        var groups = new RuntimeGroups(tree, typeIds, threshold);
        foreach (var entry in KnownPatterns.All)
        {
            if (entry.Runtime is { } hold && groups.Group(entry, hold, candidates) is ({ } group, var queues))
            {
                candidates = [.. candidates.Where(c => !groups.IsInside(c, hold) && !queues.Contains(c.HolderVertex)), group];
            }
        }

        return candidates;
    }

    /// <summary>
    /// The group, and the framework holders just above its counted objects whose retained bytes are mostly theirs (the
    /// thread pool's queue, which blocked threads also hold on their stacks, so that no structure type dominates it).
    /// </summary>
    private (SuspectCandidate? Group, HashSet<int> Queues) Group(KnownPattern entry, RuntimeHold hold, List<SuspectCandidate> candidates)
    {
        var counted = TypeIdsOf(hold.Counted);
        if (!counted.Contains(true))
        {
            return (null, []);
        }

        var frameworkHolders = candidates
            .Where(c => c.Kind == SuspectKinds.Object && TypeNameOf(c.HolderVertex) is { } name && TypeNames.IsFramework(name))
            .ToDictionary(c => c.HolderVertex, _ => 0L);

        // Dominators come before what they dominate, so one pass in vertex order knows whether the dominator is
        // counted or under a counted vertex: the outermost counted vertices are those with neither.
        var under = new ulong[(_idom.Length + 63) / 64];
        long count = 0;
        long retained = 0;
        var first = -1;
        for (var w = 2; w < _idom.Length; w++)
        {
            var inside = IsSet(under, _idom[w]);
            if (_typeIds[w] >= 0 && counted[_typeIds[w]])
            {
                count++;
                first = first < 0 ? w : first;
                retained += inside ? 0 : _tree.Retained[w];
                Set(under, w);
                if (!inside && frameworkHolders.Count > 0)
                {
                    AddToHolderAbove(w, frameworkHolders);
                }
            }
            else if (inside)
            {
                Set(under, w);
            }
        }

        // Application suspects below (a list a timer's callback captured) are named on their own; what is left is the group's.
        var ownBytes = retained - candidates
            .Where(c => c.Kind == SuspectKinds.Object && IsSet(under, c.HolderVertex) && !IsInside(c, hold))
            .Sum(c => c.RetainedBytes);
        if (count == 0 || retained < _threshold || ownBytes < _threshold)
        {
            return (null, []);
        }

        var queues = candidates.Where(c => frameworkHolders.TryGetValue(c.HolderVertex, out var bytes) && bytes * 2 >= c.RetainedBytes).Select(c => c.HolderVertex).ToHashSet();
        return (new SuspectCandidate(SuspectKinds.Runtime, first, -1, _typeIds[first], count, retained, null, SampleCounted(counted, count), entry), queues);
    }

    /// <summary>Adds the bytes of an outermost counted vertex to the nearest framework holder among a few dominators above it.</summary>
    private void AddToHolderAbove(int vertex, Dictionary<int, long> holders)
    {
        var levels = 0;
        for (var up = _idom[vertex]; up > DominatorTree.Root && levels < MaxLevelsToHolder; up = _idom[up], levels++)
        {
            if (holders.TryGetValue(up, out var bytes))
            {
                holders[up] = bytes + _tree.Retained[vertex];
                return;
            }
        }
    }

    /// <summary>Whether a candidate is part of the runtime structure: named after its types, or a framework object just below them.</summary>
    private bool IsInside(SuspectCandidate candidate, RuntimeHold hold)
    {
        if (candidate.Kind == SuspectKinds.Instances)
        {
            return IsStructure(_tree.TypeTable[candidate.TypeId].Name, hold);
        }

        if (candidate.Kind != SuspectKinds.Object || TypeNameOf(candidate.HolderVertex) is not { } holder)
        {
            return false;
        }

        return IsStructure(holder, hold)
            || (TypeNames.IsFramework(holder) && TypeNameOf(_idom[candidate.HolderVertex]) is { } above && IsStructure(above, hold));
    }

    private static bool IsStructure(string typeName, RuntimeHold hold) =>
        KnownPatterns.StartsWithAny(typeName, hold.Structure) || KnownPatterns.StartsWithAny(typeName, hold.Counted);

    private string? TypeNameOf(int vertex) => vertex > DominatorTree.Root && _typeIds[vertex] >= 0 ? _tree.TypeTable[_typeIds[vertex]].Name : null;

    /// <summary>By type id: whether the type is one of <paramref name="names"/> (an array, as it is asked once per object).</summary>
    private bool[] TypeIdsOf(string[] names)
    {
        var ids = new bool[_tree.TypeTable.Count];
        for (var id = 0; id < ids.Length; id++)
        {
            ids[id] = KnownPatterns.IsCounted(_tree.TypeTable[id].Name, names);
        }

        return ids;
    }

    /// <summary>
    /// Counted vertices spread evenly over all of them, and the last one: whichever way the depth-first numbering
    /// walked a long chain, its first or its last counted vertex hangs off the chain's head, where a root path is short.
    /// </summary>
    private int[] SampleCounted(bool[] counted, long count)
    {
        var wanted = (int)Math.Min(Samples, count);
        var samples = new List<int>(wanted + 1);
        long seen = 0;
        var last = -1;
        for (var w = 2; w < _idom.Length; w++)
        {
            if (_typeIds[w] >= 0 && counted[_typeIds[w]])
            {
                if (samples.Count < wanted && seen == samples.Count * count / wanted)
                {
                    samples.Add(w);
                }

                seen++;
                last = w;
            }
        }

        if (last >= 0 && !samples.Contains(last))
        {
            samples.Add(last);
        }

        return [.. samples];
    }

    private static bool IsSet(ulong[] bits, int vertex) => vertex >= 0 && (bits[vertex / 64] & (1UL << (vertex % 64))) != 0;

    private static void Set(ulong[] bits, int vertex) => bits[vertex / 64] |= 1UL << (vertex % 64);
}
