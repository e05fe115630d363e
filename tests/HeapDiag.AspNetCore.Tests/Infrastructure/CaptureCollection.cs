using HeapDiag.AspNetCore.Tests.Reliability;

namespace HeapDiag.AspNetCore.Tests.Infrastructure;

/// <summary>
/// Tests that write real dumps of the test process run one after another: two dump writers cannot attach to
/// the same process at once, and each suspends it while writing. The reliability suite runs here too and
/// shares the report it writes.
/// </summary>
[CollectionDefinition(Name)]
public sealed class CaptureCollection : ICollectionFixture<ReliabilityReport>
{
    public const string Name = "Real heap dumps of this process";
}
