namespace HeapDiag.Analysis.Tests;

/// <summary>Test classes in this collection share one <see cref="TargetDumps"/> (two dumps for all of them).</summary>
[CollectionDefinition(Name)]
public sealed class TargetDumpsCollection : ICollectionFixture<TargetDumps>
{
    public const string Name = "target dumps";
}
