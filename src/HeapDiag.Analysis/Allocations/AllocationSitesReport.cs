namespace HeapDiag.Analysis.Allocations;

/// <summary>
/// Which code allocates given types, from allocations sampled over EventPipe with their call stacks: for each type, the
/// distinct call stacks that allocated it, by sampled bytes.
/// </summary>
/// <param name="EventName">
/// The sampling event the sites come from: <c>AllocationSampled</c> (.NET 10: every byte has the same chance of being
/// sampled, so shares are unbiased) or <c>GCAllocationTick</c> (one object per ~100 KB allocated, biased toward large objects).
/// </param>
/// <param name="WindowSeconds">How long allocations were sampled; null for a trace recorded elsewhere.</param>
/// <param name="TotalSamples">Samples of every type in the trace: zero means sampling itself saw nothing.</param>
/// <param name="EventsLost">Events the runtime dropped (its buffer was full); the shares stay valid, the totals are low.</param>
/// <param name="UnresolvedFrames">Frames whose method was not named by the trace's rundown (shown as their address).</param>
/// <param name="Types">One entry per type asked for, in the order asked.</param>
public sealed record AllocationSitesReport(
    string EventName, double? WindowSeconds, long TotalSamples, long EventsLost, long UnresolvedFrames, IReadOnlyList<TypeAllocationSites> Types)
{
    /// <summary>What the session cost, when it ran here (null for a trace recorded elsewhere).</summary>
    public SamplingCost? Cost { get; init; }
}

/// <summary>Where one type was allocated during the window.</summary>
/// <param name="TypeName">The type asked for.</param>
/// <param name="MatchedTypes">The runtime's names of the types that matched it (a generic or nested type may be spelled differently).</param>
/// <param name="Samples">Sampled allocations of the type.</param>
/// <param name="EstimatedBytes">Bytes of the type allocated during the window, estimated from the samples.</param>
/// <param name="Sites">The top three distinct call stacks by sampled bytes, largest first.</param>
/// <param name="Note">A sentence a person should read: for a type never sampled, that its leak has stopped (or is below the sampling rate).</param>
public sealed record TypeAllocationSites(
    string TypeName, IReadOnlyList<string> MatchedTypes, long Samples, long EstimatedBytes, IReadOnlyList<AllocationSite> Sites, string? Note);

/// <summary>One distinct call stack that allocates a type.</summary>
/// <param name="SharePercent">Of the type's sampled bytes.</param>
/// <param name="Samples">Sampled allocations from this stack.</param>
/// <param name="EstimatedBytes">Bytes allocated from this stack during the window, estimated from the samples.</param>
/// <param name="AllocatingMethod">The method that executed the allocation (innermost managed frame), <c>Namespace.Type.Method</c>.</param>
/// <param name="AddedBy">The innermost frame of the app's own code (not System.*, Microsoft.*): where to fix it; null when every frame is the framework's.</param>
/// <param name="Frames">
/// The stack as a person reads it: the app's own frames first (innermost first), then the framework's frames folded into
/// one line per kind, such as <c>… 14 ASP.NET Core frames</c>.
/// </param>
public sealed record AllocationSite(double SharePercent, long Samples, long EstimatedBytes, string AllocatingMethod, string? AddedBy, IReadOnlyList<string> Frames);

/// <summary>What sampling cost the analyzer, for the bench and the log: filled in by the process that ran the session.</summary>
/// <param name="StopToSitesMs">From the end of the window to the sites: the rundown, the rest of the stream, the naming of frames.</param>
/// <param name="PeakMemoryBytes">The analyzer's peak resident memory.</param>
/// <param name="BufferMegabytes">The runtime's event buffer in the app for this session (the app's cost).</param>
public sealed record SamplingCost(long StopToSitesMs, long? PeakMemoryBytes, int BufferMegabytes);
