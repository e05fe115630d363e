namespace HeapDiag.Analysis.Tests;

/// <summary>
/// Leak suspects on real dumps of five leak patterns: each is named by the collection (or event, or captured
/// variable) where the memory accumulates, with the shortest path from its GC root written for a person, and a
/// fingerprint that is the same in every dump of the same leak.
/// </summary>
[Collection(LeakDumpsCollection.Name)]
public sealed class LeakSuspectTests(LeakDumps dumps)
{
    private const string Ns = LeakDumps.Namespace;

    [Fact]
    public void Each_of_the_five_leaks_is_a_suspect_retaining_about_a_fifth_of_the_heap()
    {
        var report = dumps.First;

        Assert.Equal(5, report.Suspects.Count);
        Assert.Equal(10, report.ThresholdPercent);
        Assert.All(report.Suspects, s =>
        {
            Assert.Equal(SuspectKinds.Object, s.Kind);
            Assert.InRange(s.AccumulationPoint.RetainedPercent, 12, 30);
            Assert.InRange(s.AccumulationPoint.RetainedBytes, LeakDumps.FirstItems * 1024L, LeakDumps.FirstItems * 1400L);
        });
        Assert.Equal(report.Suspects.OrderByDescending(s => s.AccumulationPoint.RetainedBytes), report.Suspects);
        Assert.Equal(dumps.First.Live.Bytes, Analyze.Summary(dumps.FirstPath, new SummaryOptions { RetainedSizes = false }).Live.Bytes);
    }

    [Fact]
    public void A_static_cache_list_of_items_holding_strings_is_named_by_the_list_not_the_strings()
    {
        var orders = Suspect(dumps.First, $"{Ns}.OrderCache._orders");

        Assert.Equal($"System.Collections.Generic.List<{Ns}.Order>", orders.AccumulationPoint.TypeName);
        Assert.Equal(new CollectionContents("List", $"{Ns}.Order", LeakDumps.FirstItems), orders.Holds);
        Assert.Equal($"static {Ns}.Leaks.Orders \u2192 OrderCache._orders", orders.RootPath.Text);
        Assert.Equal(RootKinds.StaticField, orders.RootPath.RootKind);
        Assert.Equal($"{Ns}.OrderCache", orders.Suspect.TypeName);
        Assert.StartsWith($"{Ns}.OrderCache._orders (List<Order>, 20,000 items) retains ", orders.Headline, StringComparison.Ordinal);
        Assert.DoesNotContain(dumps.First.Suspects, s => s.AccumulationPoint.TypeName == "System.String");
    }

    [Fact]
    public void A_dictionary_in_a_DI_singleton_is_named_through_the_singleton_not_the_container()
    {
        var sessions = Suspect(dumps.First, $"{Ns}.SessionCache._sessions");

        Assert.Equal(new CollectionContents("Dictionary", $"System.String, {Ns}.Session", LeakDumps.FirstItems), sessions.Holds);
        Assert.Equal("service provider", sessions.RootPath.RootKind);
        Assert.Equal($"{Ns}.SessionCache", sessions.RootPath.Root);
        Assert.Equal($"singleton {Ns}.SessionCache (service provider) \u2192 SessionCache._sessions", sessions.RootPath.Text);
    }

    [Fact]
    public void An_event_on_a_DI_singleton_names_the_publisher_and_the_event()
    {
        var events = Suspect(dumps.First, $"{Ns}.PricePublisher.PriceChanged");

        Assert.Equal("System.EventHandler<System.EventArgs>", events.AccumulationPoint.TypeName);
        Assert.Equal(new CollectionContents("event", $"{Ns}.PriceWatcher", LeakDumps.FirstItems), events.Holds);
        Assert.Equal($"singleton {Ns}.PricePublisher (service provider) \u2192 PricePublisher.PriceChanged (event)", events.RootPath.Text);
        Assert.Contains("20,000 subscribers", events.Headline, StringComparison.Ordinal);
    }

    [Fact]
    public void A_concurrent_dictionary_keyed_by_request_data_is_named_by_its_static_field()
    {
        var requests = Suspect(dumps.First, $"static {Ns}.RequestLog.ByRequest");

        Assert.Equal("System.Collections.Concurrent.ConcurrentDictionary<System.String, System.Byte[]>", requests.AccumulationPoint.TypeName);
        Assert.Equal(new CollectionContents("ConcurrentDictionary", "System.String, System.Byte[]", LeakDumps.FirstItems), requests.Holds);
        Assert.Equal($"static {Ns}.RequestLog.ByRequest", requests.RootPath.Text);
    }

    [Fact]
    public void A_list_captured_by_a_timer_callback_is_named_by_the_captured_variable()
    {
        var timer = Suspect(dumps.First, "received captured by a closure in Leaks");

        Assert.Equal(new CollectionContents("List", "System.Byte[]", LeakDumps.FirstItems), timer.Holds);
        Assert.StartsWith("static System.Threading.TimerQueue.Instances[] \u2192 TimerQueue.", timer.RootPath.Text, StringComparison.Ordinal);
        Assert.EndsWith("TimerQueueTimer._timerCallback \u2192 closure in Leaks \u2192 received (captured)", timer.RootPath.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_leak_carries_its_known_pattern_or_is_an_application_leak()
    {
        Assert.Equal("static-collection-grows", Suspect(dumps.First, $"{Ns}.OrderCache._orders").Pattern!.Id);
        Assert.Equal("application-leak", Suspect(dumps.First, $"{Ns}.SessionCache._sessions").Pattern!.Id);
        Assert.Equal("singleton-event-handlers", Suspect(dumps.First, $"{Ns}.PricePublisher.PriceChanged").Pattern!.Id);
        Assert.Equal("static-collection-grows", Suspect(dumps.First, $"static {Ns}.RequestLog.ByRequest").Pattern!.Id);
        Assert.Equal("undisposed-timer", Suspect(dumps.First, "received captured by a closure in Leaks").Pattern!.Id);
    }

    /// <summary>
    /// The dominator tree needs the graph the mark pass records: one open dump still answers leak suspects after an
    /// attempt that was cancelled (its scratch files discarded) and after questions whose mark pass did not
    /// record the graph (it marks again), with the same answer as a dump opened for suspects alone.
    /// </summary>
    [Fact]
    public void One_open_dump_answers_suspects_after_a_cancelled_attempt_and_after_questions_that_did_not_record_the_graph()
    {
        using var dump = HeapDump.Open(dumps.FirstPath);
        Assert.ThrowsAny<OperationCanceledException>(() => dump.FindLeakSuspects(cancellationToken: new CancellationToken(canceled: true)));
        Assert.NotEmpty(dump.FindRetainers($"{Ns}.Order").Paths);
        Assert.Equal(dumps.First.Live.Bytes, dump.Summarize(new SummaryOptions { RetainedSizes = false }).Live.Bytes);

        var report = dump.FindLeakSuspects();

        Assert.Equal(dumps.First.Suspects.Select(s => (s.Fingerprint, s.Headline)), report.Suspects.Select(s => (s.Fingerprint, s.Headline)));
    }

    [Fact]
    public void Fingerprints_match_across_dumps_and_processes_and_differ_between_leaks()
    {
        var first = Fingerprints(dumps.First);

        Assert.Equal(5, first.Distinct().Count());
        Assert.All(first, f => Assert.Matches("^[0-9a-f]{16}$", f));
        Assert.Equal(first.Order(), Fingerprints(dumps.OtherProcess).Order());

        Assert.Equal(first.Order(), Fingerprints(dumps.Second).Order());

        // In the second dump a newer timer may be ahead of the first one in the same per-processor timer queue, so the
        // path to the first timer's list may have a hop more (TimerQueueTimer._next): where a node sits in a chain
        // is not part of the leak, and the fingerprint leaves it out.
        Assert.Equal(
            Suspect(dumps.First, "received captured by a closure in Leaks").Fingerprint,
            Suspect(dumps.Second, "received captured by a closure in Leaks").Fingerprint);
        Assert.Equal(
            Suspect(dumps.First, $"{Ns}.OrderCache._orders").Fingerprint,
            Suspect(dumps.OtherProcess, $"{Ns}.OrderCache._orders").Fingerprint);
    }

    [Fact]
    public void Against_a_baseline_suspects_are_matched_by_fingerprint_with_their_growth()
    {
        var compared = HeapDumpAnalyzer.CompareSuspects(dumps.First, dumps.Second);

        Assert.Equal("first.dmp", compared.BaselineDumpFileName);
        var orders = Suspect(compared, $"{Ns}.OrderCache._orders");
        Assert.False(orders.Growth!.IsNew);
        Assert.Equal(Suspect(dumps.First, $"{Ns}.OrderCache._orders").AccumulationPoint.RetainedBytes, orders.Growth.BaselineRetainedBytes);
        Assert.InRange(orders.Growth.RetainedBytesDelta, LeakDumps.MoreItems * 1024L, LeakDumps.MoreItems * 1400L);
        Assert.Contains("MB since the baseline", orders.Headline, StringComparison.Ordinal);
        Assert.Equal(compared.Suspects.OrderByDescending(s => s.Growth!.RetainedBytesDelta), compared.Suspects);

        // A suspect whose fingerprint the baseline lacks is new.
        var withoutOrders = dumps.First with { Suspects = [.. dumps.First.Suspects.Where(s => s.Fingerprint != orders.Fingerprint)] };
        var fresh = Suspect(HeapDumpAnalyzer.CompareSuspects(withoutOrders, dumps.Second), $"{Ns}.OrderCache._orders");
        Assert.True(fresh.Growth!.IsNew);
        Assert.Null(fresh.Growth.BaselineRetainedBytes);
        Assert.Equal(fresh.AccumulationPoint.RetainedBytes, fresh.Growth.RetainedBytesDelta);
        Assert.EndsWith("new since the baseline", fresh.Headline, StringComparison.Ordinal);
    }

    [Fact]
    public void A_higher_threshold_keeps_only_the_larger_suspects()
    {
        var report = Analyze.Suspects(dumps.FirstPath, new SuspectOptions { ThresholdPercent = 50 });

        Assert.Empty(report.Suspects);
        Assert.Contains(report.Notes, n => n.Contains("the memory is spread out", StringComparison.Ordinal));
    }

    [Fact]
    public void Summary_retained_sizes_come_from_the_same_dominator_tree()
    {
        using var dump = HeapDump.Open(dumps.FirstPath);
        var summary = dump.Summarize(new SummaryOptions { Top = 1000 });
        var suspects = dump.FindLeakSuspects();

        var list = Assert.Single(summary.RetainedBytes!, r => r.Name == $"System.Collections.Generic.List<{Ns}.Order>");
        Assert.Equal(Suspect(suspects, $"{Ns}.OrderCache._orders").AccumulationPoint.RetainedBytes, list.RetainedBytes);
    }

    [Fact]
    public void Through_memory_mapped_scratch_arrays_the_five_leaks_keep_their_answers_and_fingerprints()
    {
        var mapped = Analyze.Suspects(dumps.FirstPath, dumpOptions: new HeapDumpOptions { AlwaysMapScratchArrays = true });

        Assert.Equal(
            dumps.First.Suspects.Select(s => (s.Fingerprint, s.Headline, s.AccumulationPoint.RetainedBytes, s.RootPath.Text)),
            mapped.Suspects.Select(s => (s.Fingerprint, s.Headline, s.AccumulationPoint.RetainedBytes, s.RootPath.Text)));
    }

    private static LeakSuspect Suspect(LeakSuspectReport report, string displayName) =>
        Assert.Single(report.Suspects, s => s.AccumulationPoint.DisplayName == displayName);

    private static string[] Fingerprints(LeakSuspectReport report) => [.. report.Suspects.Select(s => s.Fingerprint)];
}
