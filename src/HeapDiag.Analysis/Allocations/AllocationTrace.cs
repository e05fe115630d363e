using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace HeapDiag.Analysis.Allocations;

/// <summary>
/// Reads the allocation sites of given types from an EventPipe trace (a live session's stream or a <c>.nettrace</c>
/// file): the runtime's allocation samples with their stacks, and the method events that name the stacks' frames.
/// Read once, front to back, straight from the stream — no ETLX conversion — keeping only the asked-for types' stacks.
/// </summary>
public static class AllocationTrace
{
    /// <summary>The .NET 10 event: every allocated byte is sampled with the same probability.</summary>
    public const string AllocationSampled = "AllocationSampled";

    /// <summary>The older event: the object that crossed each ~100 KB of allocation.</summary>
    public const string AllocationTick = "GCAllocationTick";

    /// <summary>Mean bytes between two <see cref="AllocationSampled"/> samples (the runtime's sampling distance).</summary>
    public const double SamplingDistanceBytes = 102_400;

    /// <summary>The top distinct stacks kept per type.</summary>
    public const int SitesPerType = 3;

    /// <summary>Reads a <c>.nettrace</c> file (for example from <c>dotnet-trace collect --profile gc-verbose</c>).</summary>
    public static AllocationSitesReport Read(string path, IReadOnlyList<string> types)
    {
        using var source = new EventPipeEventSource(path);
        return Read(source, types, null);
    }

    /// <summary>Reads a live session's stream until it ends (the session stopped and its rundown was sent).</summary>
    public static AllocationSitesReport Read(Stream stream, IReadOnlyList<string> types, double? windowSeconds)
    {
        using var source = new EventPipeEventSource(stream);
        return Read(source, types, windowSeconds);
    }

    private static AllocationSitesReport Read(EventPipeEventSource source, IReadOnlyList<string> types, double? windowSeconds)
    {
        if (!EventStack.IsSupported)
        {
            throw new NotSupportedException("This version of TraceEvent lays out events differently; allocation stacks cannot be read.");
        }

        var filter = new AllocationTypeFilter(types);
        var sampled = new SampledStacks(types.Count);
        var ticks = new SampledStacks(types.Count);
        var methods = new MethodMap();
        var frames = new List<ulong>(128);

        source.Clr.AllocationSampling += data =>
            Count(sampled, filter, data, data.TypeName, frames, data.ObjectSize / (1 - Math.Exp(-Math.Max(1, data.ObjectSize) / SamplingDistanceBytes)));
        source.Clr.GCAllocationTick += data => Count(ticks, filter, data, data.TypeName, frames, data.AllocationAmount64);
        source.Clr.MethodLoadVerbose += data => methods.Add(data.MethodStartAddress, data.MethodSize, data.MethodNamespace, data.MethodName);
        var rundown = new ClrRundownTraceEventParser(source);
        rundown.MethodDCStartVerbose += data => methods.Add(data.MethodStartAddress, data.MethodSize, data.MethodNamespace, data.MethodName);
        rundown.MethodDCStopVerbose += data => methods.Add(data.MethodStartAddress, data.MethodSize, data.MethodNamespace, data.MethodName);
        source.Process();

        // AllocationSampled when the runtime sends it (.NET 10): unbiased. The tick only where it is all there is.
        var (samples, eventName) = sampled.TotalSamples > 0 || ticks.TotalSamples == 0 ? (sampled, AllocationSampled) : (ticks, AllocationTick);
        var resolver = new SiteResolver(methods, samples.Stacks);
        var report = types.Select((type, index) => resolver.Sites(type, samples, index, eventName)).ToList();
        return new AllocationSitesReport(eventName, windowSeconds, samples.TotalSamples, source.EventsLost, resolver.UnresolvedFrames, report);
    }

    private static void Count(SampledStacks samples, AllocationTypeFilter filter, TraceEvent data, string typeName, List<ulong> frames, double bytes)
    {
        var type = filter.Match(typeName);
        if (type < 0)
        {
            samples.CountOther();
            return;
        }

        EventStack.TryRead(data, frames);
        samples.Add(type, typeName, frames, bytes);
    }
}
