namespace HeapDiag.Analysis.Tests;

/// <summary>
/// Dumps of the test target's leaks of issue #25 (see the target's FrameworkLeaks.cs), shared by the tests of a class:
/// <list type="bullet">
/// <item><see cref="Zoo"/>: one static holder reaches everything; a list under it is the leak.</item>
/// <item><see cref="Framework"/> and <see cref="FrameworkLater"/>: <c>AddMemoryCache()</c>, a static <c>ConcurrentBag</c>,
/// undisposed timers, linked sources and <c>DiagnosticListener</c> subscriptions, <see cref="Items"/> each, then
/// <see cref="MoreItems"/> more of each in the same process.</item>
/// <item><see cref="ReportsAtRest"/> and <see cref="ReportsWhileWriting"/>: a static <c>ConcurrentDictionary</c> of
/// <see cref="ReportCount"/> large strings, dumped at rest, then while threads write to it and one holds its insides.</item>
/// </list>
/// All in a temporary directory that <see cref="Dispose"/> deletes.
/// </summary>
public sealed class FrameworkLeakDumps : IDisposable
{
    public const int Items = 20_000;
    public const int MoreItems = 5_000;
    public const int ZooAnimals = 40_000;
    public const int ReportCount = 45;

    private readonly Lazy<LeakSuspectReport> _zoo;
    private readonly Lazy<LeakSuspectReport> _framework;
    private readonly Lazy<LeakSuspectReport> _frameworkLater;
    private readonly Lazy<LeakSuspectReport> _atRest;
    private readonly Lazy<LeakSuspectReport> _whileWriting;

    public FrameworkLeakDumps()
    {
        Directory = Path.Combine(Path.GetTempPath(), "heapdiag-framework-leaks-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        try
        {
            using (var zoo = TargetProcess.Start(0))
            {
                zoo.Send($"leak zoo {ZooAnimals}");
                zoo.Send($"dump {PathOf("zoo")}");
                zoo.Send("exit");
            }

            using (var framework = TargetProcess.Start(0))
            {
                foreach (var pattern in new[] { "memorycache", "bag", "timers", "cts", "listener" })
                {
                    framework.Send($"leak {pattern} {Items}");
                }

                framework.Send($"dump {PathOf("framework")}");
                foreach (var pattern in new[] { "memorycache", "bag", "timers", "cts", "listener" })
                {
                    framework.Send($"leak {pattern} {MoreItems}");
                }

                framework.Send($"dump {PathOf("framework-later")}");
                framework.Send("exit");
            }

            using var reports = TargetProcess.Start(0);
            reports.Send($"leak reports {ReportCount}");
            reports.Send($"dump {PathOf("at-rest")}");
            reports.Send("leak resizing 1");
            reports.Send($"dump {PathOf("while-writing")}");
            reports.Send("exit");
        }
        catch
        {
            Dispose();
            throw;
        }

        _zoo = new(() => Analyze.Suspects(PathOf("zoo")));
        _framework = new(() => Analyze.Suspects(PathOf("framework")));
        _frameworkLater = new(() => Analyze.Suspects(PathOf("framework-later")));
        _atRest = new(() => Analyze.Suspects(PathOf("at-rest")));
        _whileWriting = new(() => Analyze.Suspects(PathOf("while-writing")));
    }

    public string Directory { get; }

    public LeakSuspectReport Zoo => _zoo.Value;

    public LeakSuspectReport Framework => _framework.Value;

    public LeakSuspectReport FrameworkLater => _frameworkLater.Value;

    public LeakSuspectReport ReportsAtRest => _atRest.Value;

    public LeakSuspectReport ReportsWhileWriting => _whileWriting.Value;

    public string PathOf(string name) => Path.Combine(Directory, name + ".dmp");

    public void Dispose()
    {
        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}

/// <summary>Test classes in this collection share one <see cref="FrameworkLeakDumps"/>.</summary>
[CollectionDefinition(Name)]
public sealed class FrameworkLeakDumpsCollection : ICollectionFixture<FrameworkLeakDumps>
{
    public const string Name = "framework leak dumps";
}
