namespace HeapDiag.Analysis.Tests;

/// <summary>
/// Dumps of the test target's five leaks (see the target's Leaks.cs), shared by the tests of a class: process one
/// leaks <see cref="FirstItems"/> items per pattern and is dumped (<see cref="First"/>), then leaks
/// <see cref="MoreItems"/> more and is dumped again (<see cref="Second"/>); process two leaks <see cref="OtherItems"/>
/// per pattern (<see cref="OtherProcess"/>). All in a temporary directory that <see cref="Dispose"/> deletes.
/// </summary>
public sealed class LeakDumps : IDisposable
{
    public const int FirstItems = 20_000;
    public const int MoreItems = 10_000;
    public const int OtherItems = 15_000;
    public const string Namespace = "HeapDiag.Analysis.TestTarget";

    private readonly Lazy<LeakSuspectReport> _first;
    private readonly Lazy<LeakSuspectReport> _second;
    private readonly Lazy<LeakSuspectReport> _other;

    public LeakDumps()
    {
        Directory = Path.Combine(Path.GetTempPath(), "heapdiag-leak-tests-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        FirstPath = Path.Combine(Directory, "first.dmp");
        SecondPath = Path.Combine(Directory, "second.dmp");
        OtherProcessPath = Path.Combine(Directory, "other.dmp");
        try
        {
            using (var target = TargetProcess.Start(0))
            {
                target.Send($"leak all {FirstItems}");
                target.Send($"dump {FirstPath}");
                target.Send($"leak all {MoreItems}");
                target.Send($"dump {SecondPath}");
                target.Send("exit");
            }

            using var other = TargetProcess.Start(0);
            other.Send($"leak all {OtherItems}");
            other.Send($"dump {OtherProcessPath}");
            other.Send("exit");
        }
        catch
        {
            Dispose();
            throw;
        }

        _first = new Lazy<LeakSuspectReport>(() => Analyze.Suspects(FirstPath));
        _second = new Lazy<LeakSuspectReport>(() => Analyze.Suspects(SecondPath));
        _other = new Lazy<LeakSuspectReport>(() => Analyze.Suspects(OtherProcessPath));
    }

    public string Directory { get; }

    public string FirstPath { get; }

    public string SecondPath { get; }

    public string OtherProcessPath { get; }

    /// <summary>Suspects of the first dump, computed once.</summary>
    public LeakSuspectReport First => _first.Value;

    /// <summary>Suspects of the second dump of the same process, computed once.</summary>
    public LeakSuspectReport Second => _second.Value;

    /// <summary>Suspects of the dump of the second process, computed once.</summary>
    public LeakSuspectReport OtherProcess => _other.Value;

    public void Dispose()
    {
        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}

/// <summary>Test classes in this collection share one <see cref="LeakDumps"/>.</summary>
[CollectionDefinition(Name)]
public sealed class LeakDumpsCollection : ICollectionFixture<LeakDumps>
{
    public const string Name = "leak dumps";
}
