using HeapDiag.Analysis.Internal;

namespace HeapDiag.Analysis.Tests;

/// <summary>The library against real dumps of a process whose heap is known (see the TestTarget project).</summary>
[Collection(TargetDumpsCollection.Name)]
public sealed class HeapDumpAnalyzerTests(TargetDumps dumps)
{
    [Fact]
    public void Summary_counts_exactly_the_live_markers()
    {
        var summary = dumps.Before;

        var markers = Assert.Single(summary.Types, t => t.Name == TargetDumps.MarkerType);
        Assert.Equal(TargetDumps.InitialMarkers, markers.Count);
        Assert.Equal(CountingModes.Live, summary.Counting);
        Assert.Equal(0, markers.Bytes % markers.Count);
    }

    [Fact]
    public void Summary_describes_the_dump_and_its_totals()
    {
        var summary = dumps.Before;

        Assert.Equal("before.dmp", summary.DumpFileName);
        Assert.Equal(new FileInfo(dumps.BeforePath).Length, summary.DumpFileBytes);
        Assert.StartsWith($"{Environment.Version.Major}.", summary.ClrVersion, StringComparison.Ordinal);
        Assert.Equal(IntPtr.Size, summary.PointerSize);

        // Garbage markers were left in the heap right before the dump: the whole heap holds more than the live part.
        Assert.True(summary.InHeap.Objects > summary.Live.Objects);
        Assert.True(summary.InHeap.Bytes > summary.Live.Bytes);
        Assert.Equal(summary.Live.Objects, summary.Types.Sum(t => t.Count));
        Assert.Equal(summary.Live.Bytes, summary.Types.Sum(t => t.Bytes));
        Assert.Equal(summary.Live.Objects, summary.Generations.Sum(g => g.Objects));
        Assert.Equal(summary.Live.Bytes, summary.Generations.Sum(g => g.Bytes));
        Assert.Equal(["gen0", "gen1", "gen2", "loh", "poh", "frozen"], summary.Generations.Select(g => g.Generation));
        Assert.True(summary.AnalysisDurationMs >= 0);
        Assert.Contains(summary.Notes, n => n.Contains("live objects", StringComparison.Ordinal));
    }

    [Fact]
    public void Summary_lists_types_by_bytes_and_by_count()
    {
        var summary = dumps.Before;

        Assert.Equal(new SummaryOptions().Top, summary.TopByBytes.Count);
        Assert.Equal(summary.Types.Take(summary.TopByBytes.Count), summary.TopByBytes);
        Assert.Equal(summary.Types.OrderByDescending(t => t.Bytes), summary.Types);
        Assert.Equal(summary.TopByCount.OrderByDescending(t => t.Count).Select(t => t.Count), summary.TopByCount.Select(t => t.Count));
        Assert.Equal(summary.Types.Max(t => t.Count), summary.TopByCount[0].Count);
        Assert.Equal(summary.Types.Count, summary.Types.Select(t => t.Name).Distinct().Count());
    }

    [Fact]
    public void Top_option_cuts_the_lists()
    {
        var summary = Analyze.Summary(dumps.BeforePath, new SummaryOptions { Top = 3 });

        Assert.Equal(3, summary.TopByBytes.Count);
        Assert.Equal(3, summary.TopByCount.Count);
        Assert.True(summary.DuplicateStrings.Top.Count <= 3);
        Assert.Equal(dumps.Before.Types, summary.Types);
    }

    [Fact]
    public void Retained_size_of_the_markers_is_the_markers_and_the_payloads_they_own()
    {
        var summary = Analyze.Summary(dumps.BeforePath, new SummaryOptions { Top = 1000 });

        var markers = Assert.Single(summary.Types, t => t.Name == TargetDumps.MarkerType);
        var retained = Assert.Single(summary.RetainedBytes!, r => r.Name == TargetDumps.MarkerType);

        // Each marker alone references its byte[16] payload: header, method table and length word, then 16 bytes.
        long payloadBytes = (3 * IntPtr.Size) + 16;
        Assert.Equal(markers.Count, retained.Count);
        Assert.Equal(markers.Bytes, retained.ShallowBytes);
        Assert.Equal(markers.Bytes + (markers.Count * payloadBytes), retained.RetainedBytes);

        // The list held by the static field keeps all of them (and its array) alive.
        var list = Assert.Single(summary.RetainedBytes!, r => r.Name == $"System.Collections.Generic.List<{TargetDumps.MarkerType}>");
        Assert.True(list.RetainedBytes > retained.RetainedBytes);
        Assert.All(summary.RetainedBytes!, r => Assert.True(r.RetainedBytes >= r.ShallowBytes, r.Name));
    }

    [Fact]
    public void A_budget_the_segments_allow_but_not_with_the_roots_and_dependent_handles_is_refused_before_the_mark_pass()
    {
        long segmentsNeed, rootsNeed;
        using (var session = DumpSession.Open(dumps.BeforePath))
        {
            var heapBytes = session.Segments.Sum(s => (long)(s.End - s.Start));
            segmentsNeed = MemoryPlan.MinimumBytes(heapBytes, new HeapDumpOptions().PageCacheBytes, dominators: true);
            var roots = RootSet.Collect(session, CancellationToken.None);
            Assert.InRange(roots.DependentHandles, 10, 1000);
            rootsNeed = roots.MemoryBytes;
        }

        var budget = segmentsNeed + (rootsNeed / 2);
        using var dump = HeapDump.Open(dumps.BeforePath, new HeapDumpOptions { MemoryBudgetBytes = budget });

        var refusal = Assert.Throws<HeapAnalysisBudgetException>(() => dump.FindLeakSuspects());

        Assert.Equal(budget, refusal.BudgetBytes);
        Assert.Equal(segmentsNeed + rootsNeed, refusal.NeededBytes);
        Assert.Contains("dependent handles (ConditionalWeakTable entries) needs about", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Retained_sizes_beyond_the_memory_budget_are_left_out_with_a_note_saying_how_much_is_needed()
    {
        using var dump = HeapDump.Open(dumps.BeforePath, new HeapDumpOptions { MemoryBudgetBytes = 1 << 20 });

        var summary = dump.Summarize();

        Assert.Null(summary.RetainedBytes);
        Assert.Equal(TargetDumps.InitialMarkers, Assert.Single(summary.Types, t => t.Name == TargetDumps.MarkerType).Count);
        var note = Assert.Single(summary.Notes, n => n.StartsWith("Retained sizes were not computed", StringComparison.Ordinal));
        Assert.Contains("more than the budget of 1.0 MiB", note, StringComparison.Ordinal);
        var error = Assert.Throws<HeapAnalysisBudgetException>(() => dump.FindLeakSuspects());
        Assert.Equal(1 << 20, error.BudgetBytes);
        Assert.True(error.NeededBytes > error.BudgetBytes);
    }

    [Fact]
    public void Retained_sizes_can_be_turned_off()
    {
        var summary = Analyze.Summary(dumps.BeforePath, new SummaryOptions { RetainedSizes = false });

        Assert.Null(summary.RetainedBytes);
        Assert.Contains(summary.Notes, n => n.StartsWith("Retained sizes were not computed: they were turned off", StringComparison.Ordinal));
    }

    [Fact]
    public void A_summary_after_leak_suspects_of_the_same_dump_counts_what_the_suspects_pass_left_out()
    {
        using var dump = HeapDump.Open(dumps.BeforePath);
        dump.FindLeakSuspects();

        var summary = dump.Summarize();

        Assert.Equal(dumps.Before.InHeap, summary.InHeap);
        Assert.Equal(dumps.Before.Live, summary.Live);
        Assert.Equal(dumps.Before.DuplicateStrings.WastedBytes, summary.DuplicateStrings.WastedBytes);
        Assert.Equal(dumps.Before.DuplicateStrings.Top.Select(d => (d.Value, d.Count)), summary.DuplicateStrings.Top.Select(d => (d.Value, d.Count)));
    }

    [Fact]
    public void Duplicate_strings_find_the_repeated_value()
    {
        var duplicates = dumps.Before.DuplicateStrings;

        var repeated = Assert.Single(duplicates.Top, d => d.Value == "heapdiag-duplicate-value");
        Assert.Equal(50, repeated.Count);
        Assert.Equal("heapdiag-duplicate-value".Length, repeated.Length);
        Assert.Equal(49 * repeated.BytesEach, repeated.WastedBytes);
        Assert.True(duplicates.WastedBytes >= repeated.WastedBytes);
        Assert.True(duplicates.DuplicatedValues >= 1);
    }

    [Fact]
    public void Diff_shows_exactly_the_added_markers()
    {
        var before = dumps.Before;
        var after = dumps.After;

        var diff = HeapDumpAnalyzer.Diff(before, after);

        var markersBefore = Assert.Single(before.Types, t => t.Name == TargetDumps.MarkerType);
        var bytesPerMarker = markersBefore.Bytes / markersBefore.Count;
        var markers = Assert.Single(diff.Types, t => t.Name == TargetDumps.MarkerType);
        Assert.Equal(TargetDumps.AddedMarkers, markers.CountDelta);
        Assert.Equal(TargetDumps.InitialMarkers, markers.CountBefore);
        Assert.Equal(TargetDumps.InitialMarkers + TargetDumps.AddedMarkers, markers.CountAfter);
        Assert.Equal(TargetDumps.AddedMarkers * bytesPerMarker, markers.BytesDelta);
        Assert.Equal("before.dmp", diff.BeforeDumpFileName);
        Assert.Equal("after.dmp", diff.AfterDumpFileName);
        Assert.Equal(after.Live.Objects - before.Live.Objects, diff.ObjectsDelta);
        Assert.Equal(diff.Types.OrderByDescending(t => t.BytesDelta).Select(t => t.BytesDelta), diff.Types.Select(t => t.BytesDelta));
    }

    [Fact]
    public void Retainers_name_the_static_field_that_holds_the_markers()
    {
        var report = Analyze.Retainers(dumps.BeforePath, "LeakMarker");

        Assert.Equal(TargetDumps.MarkerType, report.TypeName);
        Assert.Equal(TargetDumps.InitialMarkers, report.InstanceCount);
        Assert.Equal(new RetainerOptions().SampleSize, report.SampledCount);

        var path = Assert.Single(report.Paths);
        Assert.Equal(report.SampledCount, path.Count);
        Assert.Equal(RootKinds.StaticField, path.RootKind);
        Assert.Equal(TargetDumps.MarkersField, path.Root);
        Assert.Equal(
            [
                new RetentionStep($"System.Collections.Generic.List<{TargetDumps.MarkerType}>", null),
                new RetentionStep($"{TargetDumps.MarkerType}[]", "_items"),
                new RetentionStep(TargetDumps.MarkerType, "[]"),
            ],
            path.Steps);
    }

    [Fact]
    public void Retainers_accept_the_full_name_and_a_sample_size()
    {
        var report = Analyze.Retainers(dumps.AfterPath, TargetDumps.MarkerType, new RetainerOptions { SampleSize = 7 });

        Assert.Equal(TargetDumps.InitialMarkers + TargetDumps.AddedMarkers, report.InstanceCount);
        Assert.Equal(7, report.SampledCount);
        Assert.Equal(7, report.Paths.Sum(p => p.Count));
    }

    [Fact]
    public void Retainers_reject_an_ambiguous_name_and_list_the_candidates()
    {
        var error = Assert.Throws<HeapTypeNotFoundException>(() => Analyze.Retainers(dumps.BeforePath, "Entry"));

        Assert.True(error.IsAmbiguous);
        Assert.Equal(["HeapDiag.Analysis.TestTarget.AlphaCache+Entry", "HeapDiag.Analysis.TestTarget.BetaCache+Entry"], error.Candidates);
        Assert.Contains("HeapDiag.Analysis.TestTarget.AlphaCache+Entry", error.Message, StringComparison.Ordinal);
        Assert.Contains("HeapDiag.Analysis.TestTarget.BetaCache+Entry", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Retainers_of_a_type_without_live_instances_say_so()
    {
        var error = Assert.Throws<HeapTypeNotFoundException>(() => Analyze.Retainers(dumps.BeforePath, "No.Such.Type"));

        Assert.False(error.IsAmbiguous);
        Assert.Empty(error.Candidates);
        Assert.Contains("No.Such.Type", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_truncated_dump_is_rejected_with_the_reason()
    {
        var truncated = dumps.TruncatedCopy(1 << 20);

        var error = Assert.Throws<HeapDumpFormatException>(() => HeapDump.Open(truncated));

        Assert.StartsWith("truncated:", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.Throws<HeapDumpFormatException>(() => HeapDump.Open(truncated));
    }

    [Fact]
    public void A_text_file_is_rejected_as_not_a_dump()
    {
        var text = dumps.TextFile("this is not a heap dump\n");

        var error = Assert.Throws<HeapDumpFormatException>(() => HeapDump.Open(text));

        Assert.StartsWith("not a dump:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_or_empty_file_is_rejected()
    {
        var missing = Path.Combine(dumps.Directory, "missing.dmp");
        var empty = dumps.TextFile(string.Empty);

        Assert.StartsWith("file not found:", Assert.Throws<HeapDumpFormatException>(() => HeapDump.Open(missing)).Message, StringComparison.Ordinal);
        Assert.StartsWith("empty file", Assert.Throws<HeapDumpFormatException>(() => HeapDump.Open(empty)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Cancellation_stops_the_analysis()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        using var dump = HeapDump.Open(dumps.BeforePath);
        Assert.ThrowsAny<OperationCanceledException>(() => dump.Summarize(cancellationToken: cancelled.Token));
        Assert.ThrowsAny<OperationCanceledException>(() => dump.FindLeakSuspects(cancellationToken: cancelled.Token));
    }
}
