using HeapDiag.Analysis.Allocations;

namespace HeapDiag.Analysis;

/// <content>Which code adds to the suspect, when allocations were sampled after the dump.</content>
public sealed partial record LeakSuspect
{
    /// <summary>
    /// Where the type the suspect accumulates (the <c>T</c> of its <c>List&lt;T&gt;</c>, the values of its dictionary,
    /// its event's subscribers) was allocated in the app while sampling after the dump: the top call stacks by sampled
    /// bytes, each with its share. Null when nothing was sampled for it.
    /// </summary>
    public TypeAllocationSites? AllocationSites { get; init; }
}
