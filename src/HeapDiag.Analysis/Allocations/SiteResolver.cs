using System.Globalization;

namespace HeapDiag.Analysis.Allocations;

/// <summary>
/// Names the frames of the sampled stacks once the trace has been read and keeps the top sites of each type by sampled
/// bytes. A site is a path through the app's own code: stacks that differ only in the framework's frames (which thread
/// pool path ran the request, which async step resumed it) are one site, shown as its heaviest stack.
/// </summary>
internal sealed class SiteResolver(MethodMap methods, IReadOnlyList<ulong[]> stacks)
{
    private readonly Dictionary<int, string[]> _resolved = [];

    /// <summary>Frames no method event named (stubs, native code, methods unloaded before the rundown).</summary>
    public long UnresolvedFrames { get; private set; }

    public TypeAllocationSites Sites(string type, SampledStacks samples, int index, string eventName)
    {
        var bySite = new Dictionary<string, (string[] Frames, double Heaviest, long Samples, double Bytes)>(StringComparer.Ordinal);
        foreach (var (stackId, (count, bytes)) in samples.For(index))
        {
            var frames = Resolve(stackId);
            var key = string.Join('\n', frames.Take(1).Concat(frames.Where(frame => StackFolder.FrameworkKind(frame) is null)));
            bySite[key] = !bySite.TryGetValue(key, out var sofar) ? (frames, bytes, count, bytes)
                : (bytes > sofar.Heaviest ? frames : sofar.Frames, Math.Max(bytes, sofar.Heaviest), sofar.Samples + count, sofar.Bytes + bytes);
        }

        var total = bySite.Values.Sum(site => site.Bytes);
        var totalSamples = bySite.Values.Sum(site => site.Samples);
        var top = bySite.Values.OrderByDescending(site => site.Bytes).Take(AllocationTrace.SitesPerType).Select(site => new AllocationSite(
            Math.Round(100 * site.Bytes / total, 1),
            site.Samples,
            (long)site.Bytes,
            site.Frames.FirstOrDefault() ?? "unknown (the trace named none of its frames)",
            StackFolder.AppFrame(site.Frames),
            StackFolder.Fold(site.Frames))).ToList();
        var note = totalSamples > 0 ? null : string.Create(CultureInfo.InvariantCulture,
            $"No {type} was sampled ({eventName}, {samples.TotalSamples:N0} samples of other types): if it was accumulating before, the code that adds it has stopped — or it allocates fewer than ~{AllocationTrace.SamplingDistanceBytes / 1024:0} KB of it per window, below the sampling rate.");
        return new TypeAllocationSites(type, [.. samples.Matched(index).Order(StringComparer.Ordinal)], totalSamples, (long)total, top, note);
    }

    private string[] Resolve(int stackId)
    {
        if (_resolved.TryGetValue(stackId, out var known))
        {
            return known;
        }

        var names = new List<string>(stacks[stackId].Length);
        foreach (var address in stacks[stackId])
        {
            // A return address can sit just past its method's last instruction (a call at the end): try the byte before.
            if ((methods.Find(address) ?? methods.Find(address - 1)) is { } name)
            {
                names.Add(name);
            }
            else
            {
                UnresolvedFrames++;
            }
        }

        return _resolved[stackId] = StackFolder.Readable(names);
    }
}
