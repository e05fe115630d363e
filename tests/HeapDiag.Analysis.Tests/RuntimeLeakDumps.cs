using Microsoft.Diagnostics.NETCore.Client;

namespace HeapDiag.Analysis.Tests;

/// <summary>
/// Dumps of the test target's leaks of <c>RuntimeLeaks.cs</c>, shared by the tests of a class:
/// <list type="bullet">
/// <item><see cref="Mixed"/>: workers on undisposed PeriodicTimers, a bounded <c>IMemoryCache</c>, objects left in the
/// finalizer queue behind a blocked finalizer and values of a <c>[ThreadStatic]</c> field on 16 threads, <see cref="Items"/>
/// each, and <see cref="HttpClients"/> HttpClients kept per request; <see cref="MixedLater"/> after <see cref="MoreItems"/>
/// more of each in the same process (another 16 threads for the thread static).</item>
/// <item><see cref="WorkItems"/>: <see cref="Items"/> thread-pool work items queued behind a pool whose threads are all blocked.</item>
/// </list>
/// All in a temporary directory that <see cref="Dispose"/> deletes.
/// </summary>
public sealed class RuntimeLeakDumps : IDisposable
{
    public const int Items = 20_000;

    /// <summary>More than <see cref="Items"/>: a client and its handler are ~650 bytes, and the list must pass the 10 % threshold.</summary>
    public const int HttpClients = 40_000;

    /// <summary>What each leak of <see cref="Mixed"/> grows by before <see cref="MixedLater"/>.</summary>
    public const int MoreItems = 5_000;

    private readonly Lazy<LeakSuspectReport> _mixed;
    private readonly Lazy<LeakSuspectReport> _mixedLater;
    private readonly Lazy<LeakSuspectReport> _workItems;

    public RuntimeLeakDumps()
    {
        Directory = Path.Combine(Path.GetTempPath(), "heapdiag-runtime-leaks-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        try
        {
            using (var mixed = TargetProcess.Start(0))
            {
                foreach (var pattern in new[] { "periodictimers", "boundedcache", "finalizer", "threadstatics" })
                {
                    mixed.Send($"leak {pattern} {Items}");
                }

                mixed.Send($"leak httpclients {HttpClients}");
                mixed.Send($"dump {PathOf("mixed")}");
                foreach (var pattern in new[] { "periodictimers", "boundedcache", "finalizer", "threadstatics", "httpclients" })
                {
                    mixed.Send($"leak {pattern} {MoreItems}");
                }

                mixed.Send($"dump {PathOf("mixed-later")}");
                mixed.Send("exit");
            }

            using var workItems = TargetProcess.Start(0);
            workItems.Send($"leak workitems {Items}");

            // Written from here: the target's own diagnostics client needs the thread pool it has just blocked.
            new DiagnosticsClient(workItems.ProcessId).WriteDump(DumpType.WithHeap, PathOf("work-items"));
            workItems.Send("exit");
        }
        catch
        {
            Dispose();
            throw;
        }

        _mixed = new(() => Analyze.Suspects(PathOf("mixed")));
        _mixedLater = new(() => Analyze.Suspects(PathOf("mixed-later")));
        _workItems = new(() => Analyze.Suspects(PathOf("work-items")));
    }

    public string Directory { get; }

    public LeakSuspectReport Mixed => _mixed.Value;

    public LeakSuspectReport MixedLater => _mixedLater.Value;

    public LeakSuspectReport WorkItems => _workItems.Value;

    public string PathOf(string name) => Path.Combine(Directory, name + ".dmp");

    public void Dispose()
    {
        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}

/// <summary>Test classes in this collection share one <see cref="RuntimeLeakDumps"/>.</summary>
[CollectionDefinition(Name)]
public sealed class RuntimeLeakDumpsCollection : ICollectionFixture<RuntimeLeakDumps>
{
    public const string Name = "runtime leak dumps";
}
