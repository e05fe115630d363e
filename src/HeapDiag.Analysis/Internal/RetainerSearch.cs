using System.Diagnostics;
using System.Globalization;

namespace HeapDiag.Analysis.Internal;

/// <summary>
/// Shortest reference chains from GC roots to a sample of a type's live instances: evenly spaced sample of the
/// instances the mark pass counted → breadth-first search from the roots (<see cref="ShortestPathSearch"/>) → chains
/// named by field, grouped by identical chain.
/// </summary>
internal static class RetainerSearch
{
    private const int CancellationCheckInterval = 100_000;

    public static RetentionReport Find(LiveHeap heap, string typeName, RetainerOptions options, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        var notes = new List<string>();

        var targets = ResolveType(typeName, heap.Dump.Objects.KnownTypes.Where(t => t.LiveCount > 0));
        if (targets.Length == 0)
        {
            throw new HeapTypeNotFoundException($"no live object of a type named '{typeName}' is in this dump", typeName, []);
        }

        var instanceCount = targets.Sum(t => t.LiveCount);
        var samples = ChooseSamples(heap, targets, instanceCount, Math.Max(1, options.SampleSize), cancellationToken);
        var search = ShortestPathSearch.Run(heap, samples, cancellationToken);

        var chains = new Dictionary<string, (RetentionPath Path, int Count)>(StringComparer.Ordinal);
        var unreached = 0;
        foreach (var sample in samples)
        {
            if (search.PathTo(sample) is not { } found)
            {
                unreached++;
                continue;
            }

            var path = Describe(found);
            var key = string.Join('\u001F', [path.RootKind, path.Root, .. path.Steps.Select(s => $"{s.FieldName}\u001E{s.TypeName}")]);
            chains[key] = chains.TryGetValue(key, out var existing) ? (existing.Path, existing.Count + 1) : (path, 1);
        }

        var paths = chains.Values
            .OrderByDescending(c => c.Count)
            .ThenBy(c => c.Path.Steps.Count)
            .ThenBy(c => c.Path.Root, StringComparer.Ordinal)
            .Take(Math.Max(1, options.Top))
            .Select(c => c.Path with { Count = c.Count })
            .ToList();

        notes.Add("Each chain is the shortest path from a GC root to a sampled instance (breadth-first search); other, longer chains may hold the same instances too. Static fields are named Namespace.Type.Field.");
        if (samples.Length < instanceCount)
        {
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"Traced {samples.Length:N0} of {instanceCount:N0} live instances, spread evenly over the heap."));
        }

        if (chains.Count > paths.Count)
        {
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"{chains.Count:N0} distinct chains were found; the {paths.Count:N0} most common are listed."));
        }

        if (unreached > 0)
        {
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"{unreached:N0} sampled instances could not be traced back to a root."));
        }

        return new RetentionReport(heap.Dump.FileName, targets[0].Name, instanceCount, samples.Length, paths, notes, stopwatch.ElapsedMilliseconds);
    }

    /// <summary>
    /// The method tables a name means: exact full name first, else a unique suffix after a namespace or outer-type
    /// separator (<c>Order</c> for <c>MyApp.Order</c>), ignoring case only if nothing matches with case.
    /// </summary>
    /// <exception cref="HeapTypeNotFoundException">The name matches several types (the exception lists them).</exception>
    private static HeapType[] ResolveType(string typeName, IEnumerable<HeapType> liveTypes)
    {
        var candidates = liveTypes.ToList();
        foreach (var comparison in new[] { StringComparison.Ordinal, StringComparison.OrdinalIgnoreCase })
        {
            HeapType[] exact = [.. candidates.Where(t => string.Equals(t.Name, typeName, comparison))];
            if (exact.Length > 0)
            {
                return exact;
            }

            HeapType[] suffix = [.. candidates.Where(t =>
                t.Name.Length > typeName.Length
                && t.Name.EndsWith(typeName, comparison)
                && t.Name[t.Name.Length - typeName.Length - 1] is '.' or '+')];
            string[] names = [.. suffix.Select(t => t.Name).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
            if (names.Length == 1)
            {
                return suffix;
            }

            if (names.Length > 1)
            {
                throw new HeapTypeNotFoundException(
                    $"type name '{typeName}' is ambiguous; it could be {string.Join(", ", names.Take(10))}{(names.Length > 10 ? ", …" : string.Empty)}",
                    typeName,
                    names);
            }
        }

        return [];
    }

    /// <summary>Dense numbers of up to <paramref name="sampleSize"/> instances, evenly spaced in address order.</summary>
    private static long[] ChooseSamples(LiveHeap heap, HeapType[] targets, long instanceCount, int sampleSize, CancellationToken cancellationToken)
    {
        var count = (int)Math.Min(sampleSize, instanceCount);
        var samples = new List<long>(count);
        var targetTables = targets.Select(t => t.MethodTable).ToHashSet();
        long seen = 0;
        long index = -1;
        foreach (var address in heap.Live.EnumerateSet())
        {
            index++;
            if (index % CancellationCheckInterval == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            if (heap.Dump.Objects.GetType(address) is not { } type || !targetTables.Contains(type.MethodTable))
            {
                continue;
            }

            // Take the instance when it is the next of count evenly spaced positions among all instances.
            if (seen == samples.Count * instanceCount / count)
            {
                samples.Add(index);
                if (samples.Count == count)
                {
                    break;
                }
            }

            seen++;
        }

        return [.. samples];
    }

    private static RetentionPath Describe(RootPath path) =>
        new(1, path.Root.Kind, path.Root.Name, [.. path.Links.Select(link => new RetentionStep(link.TypeName, link.FieldName))]);
}
