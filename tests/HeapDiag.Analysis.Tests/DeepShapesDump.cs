namespace HeapDiag.Analysis.Tests;

/// <summary>
/// One dump of the test target holding the deep shapes (see the target's Shapes.cs): a linked list of
/// <see cref="ChainNodes"/> nodes, a line of <see cref="FamilyGenerations"/> parent↔child generations and a list of
/// <see cref="PayloadNodes"/> nodes with a payload each (more pending entries than the mark stack keeps in memory),
/// shared by the tests of a class, with its suspects computed once in memory.
/// </summary>
public sealed class DeepShapesDump : IDisposable
{
    public const int ChainNodes = 5_000_000;
    public const int FamilyGenerations = 1_500_000;
    public const int PayloadNodes = 600_000;

    private readonly Lazy<LeakSuspectReport> _inMemory;

    public DeepShapesDump()
    {
        Directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "heapdiag-deep-tests-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        Path = System.IO.Path.Combine(Directory, "deep.dmp");
        try
        {
            using var target = TargetProcess.Start(0);
            target.Send($"leak chain {ChainNodes}");
            target.Send($"leak family {FamilyGenerations}");
            target.Send($"leak payloads {PayloadNodes}");
            target.Send($"dump {Path}");
            target.Send("exit");
        }
        catch
        {
            Dispose();
            throw;
        }

        _inMemory = new Lazy<LeakSuspectReport>(() => Analyze.Suspects(Path));
    }

    public string Directory { get; }

    public string Path { get; }

    /// <summary>Suspects with no budget: the dominator tree's arrays on the GC heap.</summary>
    public LeakSuspectReport InMemory => _inMemory.Value;

    public void Dispose()
    {
        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}
