using System.Globalization;
using HeapDiag.Analysis.Internal.Dominators;

namespace HeapDiag.Analysis.Internal.Suspects;

/// <summary>
/// Turns candidates (dominator-tree vertices) into <see cref="LeakSuspect"/>s for a person: one breadth-first search
/// from the roots to every holder, group sample and object a runtime group keeps, then per suspect the root path,
/// what the holder holds, the headline, the fingerprint and the known pattern it matches.
/// </summary>
internal static class SuspectDescriber
{
    /// <summary>A group's holder is the deepest object on at least this share of its sampled instances' root paths.</summary>
    private const double CommonPathShare = 0.8;

    public static IReadOnlyList<LeakSuspect> Describe(LiveHeap heap, DominatorTree tree, IReadOnlyList<SuspectCandidate> candidates, CancellationToken cancellationToken)
    {
        var ranks = new Dictionary<int, long>();
        foreach (var vertex in candidates.SelectMany(c => c.Kind == SuspectKinds.Object ? [c.HolderVertex, c.TopVertex] : c.Samples))
        {
            ranks.TryAdd(vertex, tree.RankOf(vertex));
        }

        var kept = candidates.Where(c => c.Kind == SuspectKinds.Runtime).ToDictionary(c => c, c => RuntimeDescriber.Kept(heap, tree, c));
        var targets = ranks.Values.Concat(kept.Values.Select(k => k.Target)).Where(r => r >= 0).Distinct();
        var search = ShortestPathSearch.Run(heap, targets, cancellationToken);
        var live = tree.Retained[DominatorTree.Root];
        var suspects = new List<LeakSuspect>();
        foreach (var candidate in candidates)
        {
            var suspect = candidate.Kind switch
            {
                SuspectKinds.Object => DescribeObject(heap, tree, candidate, ranks, search, live),
                SuspectKinds.Runtime => DescribeRuntime(heap, tree, candidate, kept[candidate], search, live),
                _ => DescribeGroup(heap, tree, candidate, ranks, search, live),
            };
            if (suspect is not null)
            {
                var subject = new PatternSubject(suspect.RootPath, suspect.AccumulationPoint.TypeName, suspect.Holds, suspect.Suspect.TypeName);
                suspects.Add(suspect.Pattern is null ? suspect with { Pattern = KnownPatterns.Match(subject) } : suspect);
            }
        }

        return suspects;
    }

    private static LeakSuspect? DescribeObject(
        LiveHeap heap, DominatorTree tree, SuspectCandidate candidate, Dictionary<int, long> ranks, ShortestPathSearch search, long live)
    {
        if (search.PathTo(ranks[candidate.HolderVertex]) is not { } found)
        {
            return null;
        }

        // A thread that holds a collection's insides on its stack (adding, resizing) makes them a dominator-tree child
        // of no collection; the durable path still passes through the collection the app declared: name that one.
        var path = OutOfCollectionInsides(found);
        if (path.Links[^1].Type is not { } type)
        {
            return null;
        }

        var rendered = PathRenderer.Render(path, heap.Dump);
        var address = path.Links[^1].Address;
        var holds = (path == found ? candidate.Chain : null) ?? Containers.Describe(heap.Dump, address, type);
        var point = new SuspectObject(type.Name, rendered.HolderName, Hex(address), 1, candidate.RetainedBytes, Percent(candidate.RetainedBytes, live));
        var top = point;
        if (candidate.TopVertex != candidate.HolderVertex)
        {
            var topAddress = heap.Live.AddressAt(ranks[candidate.TopVertex]);
            var topType = heap.Dump.Objects.GetType(topAddress)?.Name ?? HeapType.UnreadableName;
            var topRetained = tree.Retained[candidate.TopVertex];
            top = new SuspectObject(topType, topType, Hex(topAddress), 1, topRetained, Percent(topRetained, live));
        }

        // "singleton Orders.Cache" already names its type; a field does not.
        var what = holds is null && rendered.HolderName.EndsWith(type.Name, StringComparison.Ordinal) ? string.Empty : $" ({Contents(type.Name, holds)})";
        var headline = string.Create(
            CultureInfo.InvariantCulture,
            $"{rendered.HolderName}{what} retains {Megabytes(candidate.RetainedBytes)} MB ({point.RetainedPercent:0} %)");
        var pattern = KnownPatterns.Match(new PatternSubject(rendered.Path, type.Name, holds, top.TypeName, PatternFacts.Of(heap.Dump, path)));
        return new LeakSuspect(rendered.Fingerprint($"{SuspectKinds.Object}|{type.Name}"), SuspectKinds.Object, headline, top, point, holds, rendered.Path, null) { Pattern = pattern };
    }

    /// <summary>The path cut at the collection whose inside it ends in (found along the path, not the dominators); else the path itself.</summary>
    private static RootPath OutOfCollectionInsides(RootPath path)
    {
        var last = path.Links.Count - 1;
        HeapType?[] above = [.. path.Links.Take(last).Reverse().Select(link => link.Type)];
        var levels = Containers.LevelsToOwningCollection(path.Links[last].Type, above);
        return levels == 0 ? path : path with { Links = [.. path.Links.Take(last + 1 - levels)] };
    }

    private static LeakSuspect? DescribeRuntime(
        LiveHeap heap, DominatorTree tree, SuspectCandidate candidate, KeptObject kept, ShortestPathSearch search, long live)
    {
        if (search.PathTo(kept.Target) is not { } path)
        {
            return null;
        }

        var countedType = tree.TypeTable[candidate.TypeId].Name;
        return RuntimeDescriber.Describe(candidate, kept, PathRenderer.Render(path, heap.Dump), countedType, live);
    }

    private static LeakSuspect? DescribeGroup(
        LiveHeap heap, DominatorTree tree, SuspectCandidate candidate, Dictionary<int, long> ranks, ShortestPathSearch search, long live)
    {
        List<RootPath> paths = [.. candidate.Samples.Select(v => search.PathTo(ranks[v])).OfType<RootPath>()];
        if (paths.Count == 0)
        {
            return null;
        }

        var instanceType = tree.TypeTable[candidate.TypeId];
        if (RuntimeRootedBy(paths) is { } entry)
        {
            // Kept only by a runtime structure of any type (the finalizer queue): named by the app type it keeps.
            var kept = RuntimeDescriber.KeptBy(heap, paths[0].Links[^1].Address, ranks[candidate.Samples[0]], entry.Runtime!);
            kept = kept with { Noun = entry.Runtime!.Noun.Replace("{root}", TypeNames.StaticRoot(paths[0].Root.Name), StringComparison.Ordinal) };
            var runtimePath = PathRenderer.Render(paths[0], heap.Dump);
            return RuntimeDescriber.Describe(candidate with { Runtime = entry }, kept, runtimePath, instanceType.Name, live);
        }

        var holderPath = HolderPath(paths);
        var holderLink = holderPath.Links[^1];
        var rendered = PathRenderer.Render(holderPath, heap.Dump);
        var holderType = holderLink.TypeName;
        var holds = holderLink.Type is { } type ? Containers.Describe(heap.Dump, holderLink.Address, type) : null;
        var percent = Percent(candidate.RetainedBytes, live);
        var group = new SuspectObject(instanceType.Name, TypeNames.Short(instanceType.Name), Hex(paths[0].Links[^1].Address), candidate.InstanceCount, candidate.RetainedBytes, percent);
        var point = new SuspectObject(holderType, rendered.HolderName, Hex(holderLink.Address), 1, candidate.RetainedBytes, percent);
        var headline = string.Create(
            CultureInfo.InvariantCulture,
            $"{candidate.InstanceCount:N0} instances of {TypeNames.Short(instanceType.Name)} retain {Megabytes(candidate.RetainedBytes)} MB ({percent:0} %), held in {rendered.HolderName} ({Contents(holderType, holds)})");
        return new LeakSuspect(rendered.Fingerprint($"{SuspectKinds.Instances}|{instanceType.Name}"), SuspectKinds.Instances, headline, group, point, holds, rendered.Path, null);
    }

    /// <summary>The catalogue entry whose runtime structure is the root of every sampled path (the finalizer queue); else null.</summary>
    private static KnownPattern? RuntimeRootedBy(List<RootPath> paths) =>
        KnownPatterns.All.FirstOrDefault(entry => entry.Runtime?.RootKind is { } kind && paths.All(p => p.Root.Kind == kind));

    /// <summary>
    /// The path to the deepest object most sampled paths share, climbed out of a collection's insides to the
    /// collection itself; the first path whole when they share nothing.
    /// </summary>
    private static RootPath HolderPath(List<RootPath> paths)
    {
        var first = paths[0];
        var depth = 0;
        RootPath? best = null;
        IEnumerable<RootPath> sharing = paths;
        while (true)
        {
            var next = sharing.Where(p => p.Links.Count > depth)
                .GroupBy(p => p.Links[depth].Address)
                .MaxBy(g => g.Count());
            if (next is null || next.Count() < Math.Ceiling(paths.Count * CommonPathShare))
            {
                break;
            }

            sharing = [.. next];
            best = next.First();
            depth++;
        }

        if (best is null)
        {
            // Nothing shared by most: name what holds the first sampled instance.
            return first.Links.Count > 1 ? first with { Links = [.. first.Links.Take(first.Links.Count - 1)] } : first;
        }

        // Shared up to links[depth - 1]; out of a collection's insides up to the collection that owns them.
        var holder = depth - 1;
        HeapType?[] above = [.. best.Links.Take(holder).Reverse().Select(link => link.Type)];
        holder -= Containers.LevelsToOwningCollection(best.Links[holder].Type, above);
        return best with { Links = [.. best.Links.Take(holder + 1)] };
    }

    private static string Contents(string typeName, CollectionContents? holds) =>
        holds is null ? TypeNames.Short(typeName) : $"{TypeNames.Short(typeName)}, {Containers.CountText(holds)}";

    public static string Hex(ulong address) => string.Create(CultureInfo.InvariantCulture, $"0x{address:x}");

    public static double Percent(long part, long whole) => whole == 0 ? 0 : Math.Round(100.0 * part / whole, 1);

    public static long Megabytes(long bytes) => (long)Math.Round(bytes / (1024.0 * 1024));
}
