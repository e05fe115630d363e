namespace HeapDiag.Analysis.Tests;

/// <summary>
/// Issue #25 on real dumps: the headline is the leak's accumulation point, named as the app's code knows it (the
/// collection it declared, the service type it registered, the app type a timer or subscription keeps), with its
/// count and the known pattern it matches.
/// </summary>
[Collection(FrameworkLeakDumpsCollection.Name)]
public sealed class AppWordsSuspectTests(FrameworkLeakDumps dumps)
{
    private const string Ns = LeakDumps.Namespace;
    private const string Arrow = " \u2192 ";

    [Fact]
    public void Under_a_holder_of_everything_the_list_that_leaks_comes_first_and_the_holder_is_context_on_its_path()
    {
        var report = dumps.Zoo;

        var first = report.Suspects[0];
        Assert.Equal($"{Ns}.ZooServices._animals", first.AccumulationPoint.DisplayName);
        Assert.Equal(new CollectionContents("List", $"{Ns}.Animal", FrameworkLeakDumps.ZooAnimals), first.Holds);
        Assert.StartsWith($"{Ns}.ZooServices._animals (List<Animal>, 40,000 items) retains ", first.Headline, StringComparison.Ordinal);
        Assert.Equal($"static {Ns}.Zoo.Services{Arrow}ZooServices._animals", first.RootPath.Text);
        Assert.Equal("static-collection-grows", first.Pattern!.Id);

        // The holder retains more, but most of it is the list's: it is ranked by what is spread under it alone.
        var holder = Assert.Single(report.Suspects, s => s.AccumulationPoint.DisplayName == $"static {Ns}.Zoo.Services");
        Assert.True(holder.AccumulationPoint.RetainedBytes > first.AccumulationPoint.RetainedBytes);
        Assert.True(report.Suspects.ToList().IndexOf(holder) > 0);
    }

    [Fact]
    public void AddMemoryCache_is_named_by_the_registered_service_and_the_cache_fields_with_its_entries()
    {
        var cache = Suspect(dumps.Framework, "Microsoft.Extensions.Caching.Memory.MemoryCache._coherentState._stringEntries");

        Assert.Equal(
            $"singleton Microsoft.Extensions.Caching.Memory.MemoryCache (IMemoryCache, service provider){Arrow}MemoryCache._coherentState._stringEntries",
            cache.RootPath.Text);
        Assert.Equal("Microsoft.Extensions.Caching.Memory.MemoryCache", cache.RootPath.Root);
        Assert.Equal(new CollectionContents("ConcurrentDictionary", "System.String, Microsoft.Extensions.Caching.Memory.CacheEntry", FrameworkLeakDumps.Items), cache.Holds);
        Assert.Contains("(ConcurrentDictionary<String, CacheEntry>, 20,000 entries) retains ", cache.Headline, StringComparison.Ordinal);
        Assert.Equal("memory-cache-unbounded", cache.Pattern!.Id);
        Assert.DoesNotContain(dumps.Framework.Suspects, s => s.RootPath.Root.StartsWith("System.Collections.", StringComparison.Ordinal));
    }

    [Fact]
    public void A_static_concurrent_bag_is_named_by_its_field_with_its_item_count()
    {
        var bag = Suspect(dumps.Framework, $"static {Ns}.StringStore.StaticStrings");

        Assert.Equal(new CollectionContents("ConcurrentBag", "System.String", FrameworkLeakDumps.Items), bag.Holds);
        Assert.StartsWith($"static {Ns}.StringStore.StaticStrings (ConcurrentBag<String>, 20,000 items) retains ", bag.Headline, StringComparison.Ordinal);
        Assert.Equal("static-collection-grows", bag.Pattern!.Id);
    }

    [Fact]
    public void Undisposed_timers_are_one_suspect_named_by_the_app_type_their_callbacks_target()
    {
        var timers = Assert.Single(dumps.Framework.Suspects, s => s.Pattern!.Id == "undisposed-timer");

        Assert.Equal(SuspectKinds.Runtime, timers.Kind);
        Assert.Equal("timers", timers.Holds!.Kind);
        Assert.Equal($"{Ns}.EphemeralOperation", timers.Holds.ElementType);
        Assert.InRange(timers.Holds.Count, FrameworkLeakDumps.Items, FrameworkLeakDumps.Items + 20);
        Assert.Matches(
            $@"^20,0\d\d undisposed timers \(System\.Threading\.Timer\) whose callbacks target {Ns.Replace(".", @"\.")}\.EphemeralOperation retain \d+ MB \(\d+ %\)$",
            timers.Headline);
        Assert.Equal($"{Ns}.EphemeralOperation", timers.AccumulationPoint.TypeName);
        Assert.InRange(timers.AccumulationPoint.RetainedBytes, FrameworkLeakDumps.Items * 1024L, FrameworkLeakDumps.Items * 1600L);
        Assert.Matches(@"^static System\.Threading\.TimerQueue\.Instances\[\] → TimerQueue\._(long|short)Timers → TimerQueueTimer\._timerCallback → EphemeralOperation$", timers.RootPath.Text);
        Assert.DoesNotContain(dumps.Framework.Suspects, s => s.Suspect.TypeName.StartsWith("System.Threading.TimerQueue", StringComparison.Ordinal) && s != timers);
    }

    [Fact]
    public void Linked_sources_on_a_singletons_token_are_one_suspect_named_by_what_their_callbacks_target()
    {
        var linked = Assert.Single(dumps.Framework.Suspects, s => s.Pattern!.Id == "linked-cancellation-token-source");

        Assert.Equal(SuspectKinds.Runtime, linked.Kind);
        Assert.Equal(new CollectionContents("linked CancellationTokenSources", $"{Ns}.RequestOperation", FrameworkLeakDumps.Items), linked.Holds);
        Assert.StartsWith(
            $"20,000 linked CancellationTokenSources never disposed whose callbacks target {Ns}.RequestOperation retain ", linked.Headline, StringComparison.Ordinal);
        Assert.Equal("System.Threading.CancellationTokenSource+Linked2CancellationTokenSource", linked.Suspect.TypeName);
        Assert.StartsWith($"singleton {Ns}.ShutdownSignal (service provider){Arrow}ShutdownSignal._source", linked.RootPath.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void DiagnosticListener_subscriptions_never_disposed_are_one_suspect_named_by_the_observer()
    {
        var subscriptions = Assert.Single(dumps.Framework.Suspects, s => s.Pattern!.Id == "diagnostic-listener-subscription");

        Assert.Equal(SuspectKinds.Runtime, subscriptions.Kind);
        Assert.Equal(new CollectionContents("DiagnosticListener subscriptions", $"{Ns}.RequestObserver", FrameworkLeakDumps.Items), subscriptions.Holds);
        Assert.StartsWith(
            $"20,000 DiagnosticListener subscriptions never disposed whose observers are {Ns}.RequestObserver retain ", subscriptions.Headline, StringComparison.Ordinal);
        Assert.Equal($"static {Ns}.FrameworkLeaks.Listener{Arrow}DiagnosticListener._subscriptions.Observer", subscriptions.RootPath.Text);
    }

    [Fact]
    public void The_five_framework_leaks_are_five_suspects_each_with_its_pattern_and_fix()
    {
        var report = dumps.Framework;

        Assert.Equal(5, report.Suspects.Count);
        Assert.Equal(
            ["diagnostic-listener-subscription", "linked-cancellation-token-source", "memory-cache-unbounded", "static-collection-grows", "undisposed-timer"],
            report.Suspects.Select(s => s.Pattern!.Id).Order());
        Assert.All(report.Suspects, s =>
        {
            Assert.False(string.IsNullOrWhiteSpace(s.Pattern!.Fix));
            Assert.StartsWith("https://learn.microsoft.com/", s.Pattern.Link, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void Fingerprints_of_the_framework_leaks_match_in_a_later_dump_of_the_same_process()
    {
        Assert.Equal(
            dumps.Framework.Suspects.Select(s => s.Fingerprint).Order(),
            dumps.FrameworkLater.Suspects.Select(s => s.Fingerprint).Order());
        Assert.Equal(5, dumps.FrameworkLater.Suspects.Select(s => s.Fingerprint).Distinct().Count());
    }

    [Fact]
    public void A_concurrent_dictionary_whose_insides_a_thread_holds_is_named_as_at_rest()
    {
        var atRest = Suspect(dumps.ReportsAtRest, $"static {Ns}.ReportController.Cache");
        var writing = dumps.ReportsWhileWriting.Suspects[0];

        Assert.Equal($"static {Ns}.ReportController.Cache", writing.AccumulationPoint.DisplayName);
        Assert.Equal(new CollectionContents("ConcurrentDictionary", "System.String, System.String", FrameworkLeakDumps.ReportCount), writing.Holds);
        Assert.StartsWith(
            $"static {Ns}.ReportController.Cache (ConcurrentDictionary<String, String>, 45 entries) retains ", writing.Headline, StringComparison.Ordinal);
        Assert.Equal(atRest.Fingerprint, writing.Fingerprint);
        Assert.Equal(atRest.RootPath.Text, writing.RootPath.Text);
        Assert.DoesNotContain(dumps.ReportsWhileWriting.Suspects, s => s.AccumulationPoint.TypeName.Contains("+Tables", StringComparison.Ordinal)
            || s.AccumulationPoint.TypeName.Contains("VolatileNode", StringComparison.Ordinal));
    }

    private static LeakSuspect Suspect(LeakSuspectReport report, string displayName) =>
        Assert.Single(report.Suspects, s => s.AccumulationPoint.DisplayName == displayName);
}
