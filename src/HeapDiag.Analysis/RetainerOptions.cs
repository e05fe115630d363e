namespace HeapDiag.Analysis;

/// <summary>Options for <see cref="HeapDump.FindRetainers"/>.</summary>
public sealed record RetainerOptions
{
    /// <summary>How many instances to trace back to a root, spread evenly over the heap. Default 100.</summary>
    public int SampleSize { get; init; } = 100;

    /// <summary>How many distinct chains the report keeps, the most common first. Default 10.</summary>
    public int Top { get; init; } = 10;
}
