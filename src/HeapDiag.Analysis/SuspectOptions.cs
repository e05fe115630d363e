namespace HeapDiag.Analysis;

/// <summary>Options for <see cref="HeapDump.FindLeakSuspects"/>.</summary>
public sealed record SuspectOptions
{
    /// <summary>A suspect retains at least this percent of the live bytes (more than 0, at most 100). Default 10.</summary>
    public double ThresholdPercent { get; init; } = 10;

    /// <summary>Most suspects reported, the largest first. Default 10.</summary>
    public int MaxSuspects { get; init; } = 10;
}
