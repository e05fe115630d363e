namespace HeapDiag.Analysis.Tests;

/// <summary>
/// Issue #25's remaining gaps on real dumps: objects kept only by the finalizer queue, values of a thread static and
/// thread-pool work items that never run as one runtime suspect each, named by the app type they keep; HttpClients kept per request and
/// undisposed PeriodicTimers with their patterns; a bounded IMemoryCache told apart from an unbounded one.
/// </summary>
[Collection(RuntimeLeakDumpsCollection.Name)]
public sealed class RuntimeWordsSuspectTests(RuntimeLeakDumps dumps)
{
    private const string Ns = LeakDumps.Namespace;
    private const int Items = RuntimeLeakDumps.Items;

    [Fact]
    public void Objects_kept_only_by_the_finalizer_queue_are_one_suspect_named_by_their_app_type()
    {
        var queued = Assert.Single(dumps.Mixed.Suspects, s => s.Pattern!.Id == "finalizer-queue");

        Assert.Equal(SuspectKinds.Runtime, queued.Kind);
        Assert.Equal(new CollectionContents("objects waiting for finalization", $"{Ns}.ReportFile", Items), queued.Holds);
        Assert.StartsWith($"20,000 objects in the finalizer queue of type {Ns}.ReportFile retain ", queued.Headline, StringComparison.Ordinal);
        Assert.Equal(RootKinds.FinalizerQueue, queued.RootPath.RootKind);
        Assert.Equal("ReportFile (finalizer queue)", queued.RootPath.Text);
        Assert.Equal($"{Ns}.ReportFile", queued.AccumulationPoint.TypeName);
        Assert.InRange(queued.AccumulationPoint.RetainedBytes, Items * 1024L, Items * 1300L);
    }

    [Fact]
    public void Work_items_that_never_run_are_one_suspect_named_by_the_app_type_their_callbacks_target()
    {
        var report = dumps.WorkItems;
        var queued = Assert.Single(report.Suspects, s => s.Pattern!.Id == "thread-pool-work-items");

        Assert.Same(report.Suspects[0], queued);
        Assert.Equal(SuspectKinds.Runtime, queued.Kind);
        Assert.Equal(new CollectionContents("work items", $"{Ns}.ReportJob", Items), queued.Holds);
        Assert.StartsWith(
            $"20,000 thread-pool work items queued and never run whose callbacks target {Ns}.ReportJob retain ", queued.Headline, StringComparison.Ordinal);
        Assert.StartsWith("static System.Threading.ThreadPool.s_workQueue \u2192 ThreadPoolWorkQueue.workItems", queued.RootPath.Text, StringComparison.Ordinal);
        Assert.EndsWith("\u2192 ReportJob", queued.RootPath.Text, StringComparison.Ordinal);

        // The pool's queue itself is part of the structure, not a suspect ahead of what it keeps.
        Assert.DoesNotContain(report.Suspects, s => s.AccumulationPoint.TypeName.StartsWith("System.Collections.Concurrent.ConcurrentQueue", StringComparison.Ordinal));
    }

    [Fact]
    public void HttpClients_kept_per_request_are_named_by_their_list_with_the_http_client_pattern()
    {
        var clients = Assert.Single(dumps.Mixed.Suspects, s => s.AccumulationPoint.DisplayName == $"static {Ns}.PartnerGateway.Clients");

        Assert.Equal(new CollectionContents("List", "System.Net.Http.HttpClient", RuntimeLeakDumps.HttpClients), clients.Holds);
        Assert.StartsWith($"static {Ns}.PartnerGateway.Clients (List<HttpClient>, 40,000 items) retains ", clients.Headline, StringComparison.Ordinal);
        Assert.Equal("http-client-per-request", clients.Pattern!.Id);
        Assert.Contains("IHttpClientFactory", clients.Pattern.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void Undisposed_PeriodicTimers_are_one_suspect_named_by_the_worker_their_loops_run_in()
    {
        var timers = Assert.Single(dumps.Mixed.Suspects, s => s.Pattern!.Id == "undisposed-timer");

        Assert.Equal(SuspectKinds.Runtime, timers.Kind);
        Assert.Equal(new CollectionContents("timers", $"{Ns}.PollingWorker", Items), timers.Holds);
        Assert.StartsWith($"20,000 undisposed PeriodicTimers whose callbacks target {Ns}.PollingWorker retain ", timers.Headline, StringComparison.Ordinal);
        Assert.StartsWith("static System.Threading.TimerQueue.Instances[] \u2192 TimerQueue.", timers.RootPath.Text, StringComparison.Ordinal);
        Assert.Contains("PeriodicTimer.State", timers.RootPath.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_memory_cache_with_a_size_limit_and_expiring_entries_is_not_called_unbounded()
    {
        var cache = Assert.Single(dumps.Mixed.Suspects, s => s.AccumulationPoint.DisplayName == "Microsoft.Extensions.Caching.Memory.MemoryCache._coherentState._stringEntries");

        Assert.Equal("memory-cache-bounded", cache.Pattern!.Id);
        Assert.Equal(new CollectionContents("ConcurrentDictionary", "System.String, Microsoft.Extensions.Caching.Memory.CacheEntry", Items), cache.Holds);
        Assert.DoesNotContain(dumps.Mixed.Suspects, s => s.Pattern!.Id == "memory-cache-unbounded");
    }

    [Fact]
    public void Values_of_a_thread_static_on_many_threads_are_one_suspect_named_by_the_field_and_the_app_type()
    {
        var values = Assert.Single(dumps.Mixed.Suspects, s => s.Pattern!.Id == "thread-static-values");

        Assert.Equal(SuspectKinds.Runtime, values.Kind);
        Assert.Equal(new CollectionContents("thread-static values", $"{Ns}.ScratchBuffer", 16), values.Holds);
        Assert.StartsWith(
            $"16 values of the thread static {Ns}.RequestScratch._buffers holding {Ns}.ScratchBuffer retain ", values.Headline, StringComparison.Ordinal);
        Assert.Equal(RootKinds.ThreadStatic, values.RootPath.RootKind);
        Assert.StartsWith($"thread static {Ns}.RequestScratch._buffers", values.RootPath.Text, StringComparison.Ordinal);
        Assert.InRange(values.AccumulationPoint.RetainedBytes, Items * 1024L, Items * 1300L);
    }

    [Fact]
    public void The_five_leaks_of_one_process_are_five_suspects_each_with_its_pattern()
    {
        Assert.Equal(
            ["finalizer-queue", "http-client-per-request", "memory-cache-bounded", "thread-static-values", "undisposed-timer"],
            dumps.Mixed.Suspects.Select(s => s.Pattern!.Id).Order());
    }

    [Fact]
    public void Fingerprints_of_the_runtime_groups_and_patterns_match_in_a_later_dump_of_the_same_process()
    {
        Assert.Equal(dumps.Mixed.Suspects.Select(s => s.Fingerprint).Order(), dumps.MixedLater.Suspects.Select(s => s.Fingerprint).Order());
        Assert.Equal(5, dumps.MixedLater.Suspects.Select(s => s.Fingerprint).Distinct().Count());
    }
}
