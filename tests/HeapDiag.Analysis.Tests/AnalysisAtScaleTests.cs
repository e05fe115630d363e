using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace HeapDiag.Analysis.Tests;

/// <summary>
/// Heaps of any size: a budget too small is refused before the mark pass, from the GC's segments; a heap whose
/// dominator tree does not fit in the budget is analysed through memory-mapped scratch files, in a process whose GC
/// hard limit is the budget, with the answer it has in memory; graphs deeper than any stack are numbered iteratively.
/// </summary>
public sealed class AnalysisAtScaleTests(DeepShapesDump dump) : IClassFixture<DeepShapesDump>
{
    private const string Ns = LeakDumps.Namespace;

    [Fact]
    public void A_five_million_node_list_a_deep_parent_child_cycle_and_a_list_of_payloads_are_reported_at_their_heads()
    {
        var report = dump.InMemory;

        var chain = Assert.Single(report.Suspects, s => s.AccumulationPoint.TypeName == $"{Ns}.ChainNode");
        Assert.Equal(new CollectionContents("chain", $"{Ns}.ChainNode", DeepShapesDump.ChainNodes), chain.Holds);
        Assert.Equal($"static {Ns}.Shapes.Chain", chain.RootPath.Text);
        var family = Assert.Single(report.Suspects, s => s.AccumulationPoint.TypeName == $"{Ns}.FamilyNode");
        Assert.Equal(new CollectionContents("chain", $"{Ns}.FamilyNode", DeepShapesDump.FamilyGenerations + 1), family.Holds);
        Assert.Equal($"static {Ns}.Shapes.Family", family.RootPath.Text);

        // Its search leaves 600,000 payloads pending at once, more than the mark stack keeps in memory.
        var payloads = Assert.Single(report.Suspects, s => s.AccumulationPoint.TypeName == $"{Ns}.PayloadNode");
        Assert.Equal($"static {Ns}.Shapes.Payloads", payloads.RootPath.Text);
        Assert.Equal(DeepShapesDump.PayloadNodes * (32L + 24), payloads.AccumulationPoint.RetainedBytes);
    }

    [Fact]
    public void Through_scratch_files_within_a_GC_hard_limit_the_answer_is_the_in_memory_one()
    {
        // 7.7 M live objects: in memory the dominator pass would need ~200 MiB all told (96 MiB fixed, 101 MiB of
        // arrays), mapped ~150 MiB (a predecessor bucket and the root-path search's parents).
        const long Budget = 180L << 20;

        var run = HeapDiagProcess.Run(Budget, "suspects", dump.Path, "--json", "--max-memory", Budget.ToString(CultureInfo.InvariantCulture));

        Assert.True(run.ExitCode == 0, run.Error);
        using var json = JsonDocument.Parse(run.Output);
        var notes = json.RootElement.GetProperty("notes").EnumerateArray().Select(n => n.GetString()).ToList();
        Assert.Contains(notes, n => n!.StartsWith("The dominator tree's arrays were kept in memory-mapped scratch files", StringComparison.Ordinal));
        var mapped = json.RootElement.GetProperty("suspects").EnumerateArray()
            .Select(s => (s.GetProperty("fingerprint").GetString()!, s.GetProperty("headline").GetString()!, s.GetProperty("accumulationPoint").GetProperty("retainedBytes").GetInt64()));
        Assert.Equal(dump.InMemory.Suspects.Select(s => (s.Fingerprint, s.Headline, s.AccumulationPoint.RetainedBytes)), mapped);
        Assert.Equal([dump.Path], System.IO.Directory.GetFileSystemEntries(dump.Directory));
    }

    [Fact]
    public void A_budget_below_what_the_segments_need_is_refused_before_the_mark_pass_with_the_needed_bytes()
    {
        const long Budget = 100L << 20;
        using var heap = HeapDump.Open(dump.Path, new HeapDumpOptions { MemoryBudgetBytes = Budget });
        var stopwatch = Stopwatch.StartNew();

        var refusal = Assert.Throws<HeapAnalysisBudgetException>(() => heap.FindLeakSuspects());

        // Generous for a loaded machine; the mark pass of this dump takes far longer than the check.
        Assert.InRange(stopwatch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(10));
        Assert.Equal(Budget, refusal.BudgetBytes);
        Assert.True(refusal.NeededBytes > Budget);
        Assert.Contains("segments) needs about", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("more than the budget of 100.0 MiB", refusal.Message, StringComparison.Ordinal);
    }
}

/// <summary>The <c>heapdiag</c> tool run as a child process with its GC hard limit set, as the analyzer runs in an app.</summary>
internal sealed record HeapDiagProcess(int ExitCode, string Output, string Error)
{
    public static HeapDiagProcess Run(long gcHeapHardLimit, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "heapdiag.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["DOTNET_GCHeapHardLimit"] = gcHeapHardLimit.ToString("x", CultureInfo.InvariantCulture);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start heapdiag");
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("heapdiag did not finish in 10 minutes");
        }

        return new HeapDiagProcess(process.ExitCode, output, error.GetAwaiter().GetResult());
    }
}
