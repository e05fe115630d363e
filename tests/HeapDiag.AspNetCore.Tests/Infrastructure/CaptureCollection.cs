namespace HeapDiag.AspNetCore.Tests.Infrastructure;

/// <summary>
/// Tests that write real dumps of the test process run one after another: two dump writers cannot attach to
/// the same process at once, and each suspends it while writing.
/// </summary>
[CollectionDefinition(Name)]
public sealed class CaptureCollection
{
    public const string Name = "Real heap dumps of this process";
}
