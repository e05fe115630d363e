using HeapDiag.Analysis.Internal.Suspects;

namespace HeapDiag.Analysis.Tests;

/// <summary>The catalogue of known retention patterns, entry by entry: what each matches, and what none does.</summary>
public sealed class KnownPatternsTests
{
    [Theory]
    [InlineData("undisposed-timer", "static field", "System.Threading.TimerQueue.Instances", "System.Threading.TimerQueueTimer", "List", "App.Job")]
    [InlineData("undisposed-timer", "static field", "App.Jobs.Ticker", "System.Threading.PeriodicTimer", null, "App.Job")]
    [InlineData("linked-cancellation-token-source", "service provider", "App.Shutdown", "System.Threading.CancellationTokenSource+Linked2CancellationTokenSource", null, "App.Operation")]
    [InlineData("diagnostic-listener-subscription", "static field", "App.Telemetry.Listener", "System.Diagnostics.DiagnosticListener+DiagnosticSubscription", null, "App.Observer")]
    [InlineData("memory-cache-unbounded", "service provider", "Microsoft.Extensions.Caching.Memory.MemoryCache", "Microsoft.Extensions.Caching.Memory.MemoryCache+CoherentState", "ConcurrentDictionary", "System.String, Microsoft.Extensions.Caching.Memory.CacheEntry")]
    [InlineData("http-client-per-request", "static field", "App.Clients.All", "App.Clients", "List", "System.Net.Http.HttpClient")]
    [InlineData("singleton-event-handlers", "service provider", "App.Publisher", "App.Publisher", "event", "App.Watcher")]
    [InlineData("singleton-event-handlers", "static field", "App.Bus.Instance", "App.Bus", "event", "App.Watcher")]
    [InlineData("static-collection-grows", "static field", "App.Registry.Items", "App.Registry", "Dictionary", "System.String, App.Item")]
    [InlineData("static-collection-grows", "static field", "App.Registry.Buffers", "App.Registry", "array", "System.Byte[]")]
    [InlineData("application-leak", "service provider", "App.SessionCache", "App.SessionCache", "Dictionary", "System.String, App.Session")]
    [InlineData("application-leak", "stack", "thread 5", "App.Worker", "List", "App.Job")]
    [InlineData("application-leak", "static field", "App.Registry.Chain", "App.Node", "chain", "App.Node")]
    public void Each_pattern_matches_its_root_path_and_types(string expected, string rootKind, string root, string onPath, string? holdsKind, string? element)
    {
        var steps = new[] { new SuspectPathStep(root, root, null), new SuspectPathStep("step", onPath, "_field") };
        var holds = holdsKind is null ? null : new CollectionContents(holdsKind, element, 1000);
        var subject = new PatternSubject(new SuspectPath(rootKind, root, steps, "text"), onPath, holds, onPath);

        Assert.Equal(expected, KnownPatterns.Match(subject).Id);
    }

    [Theory]
    [InlineData(false, "memory-cache-unbounded")]
    [InlineData(true, "memory-cache-bounded")]
    public void A_memory_cache_is_unbounded_unless_its_size_limit_or_expirations_were_read(bool bounded, string expected)
    {
        const string cache = "Microsoft.Extensions.Caching.Memory.MemoryCache";
        var steps = new[] { new SuspectPathStep(cache, cache, null), new SuspectPathStep("step", cache + "+CoherentState", "_stringEntries") };
        var holds = new CollectionContents("ConcurrentDictionary", "System.String, Microsoft.Extensions.Caching.Memory.CacheEntry", 1000);
        var facts = bounded ? new HashSet<string> { PatternFacts.MemoryCacheBounded } : [];
        var subject = new PatternSubject(new SuspectPath("service provider", cache, steps, "text"), "System.Collections.Concurrent.ConcurrentDictionary", holds, cache, facts);

        Assert.Equal(expected, KnownPatterns.Match(subject).Id);
    }

    [Fact]
    public void A_group_kept_by_the_finalizer_queue_matches_the_finalizer_pattern()
    {
        var steps = new[] { new SuspectPathStep("App.ReportFile", "App.ReportFile", null) };
        var subject = new PatternSubject(new SuspectPath(RootKinds.FinalizerQueue, "finalizer queue", steps, "text"), "App.ReportFile", null, "App.ReportFile");

        Assert.Equal("finalizer-queue", KnownPatterns.Match(subject).Id);
    }

    [Theory]
    [InlineData("System.Threading.QueueUserWorkItemCallback", true)]
    [InlineData("System.Threading.QueueUserWorkItemCallbackDefaultContext<System.Object>", true)]
    [InlineData("System.Threading.QueueUserWorkItemCallbackDefaultContextX", false)]
    public void Counted_types_include_their_generic_instances(string typeName, bool expected)
    {
        Assert.Equal(expected, KnownPatterns.IsCounted(typeName, ["System.Threading.QueueUserWorkItemCallback", "System.Threading.QueueUserWorkItemCallbackDefaultContext"]));
    }

    [Fact]
    public void Every_entry_has_a_distinct_id_a_fix_and_a_documentation_link()
    {
        LeakPattern[] patterns = [.. KnownPatterns.All.Select(e => e.Pattern), KnownPatterns.Application];

        Assert.Equal(patterns.Length, patterns.Select(p => p.Id).Distinct().Count());
        Assert.All(patterns, p =>
        {
            Assert.Matches("^[a-z-]+$", p.Id);
            Assert.False(string.IsNullOrWhiteSpace(p.Name));
            Assert.EndsWith(".", p.Explanation, StringComparison.Ordinal);
            Assert.False(string.IsNullOrWhiteSpace(p.Fix));
            Assert.StartsWith("https://learn.microsoft.com/", p.Link, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void The_runtime_structures_count_types_that_are_part_of_them()
    {
        Assert.All(KnownPatterns.All.Where(e => e.Runtime is not null), e =>
            Assert.All(e.Runtime!.Counted, counted => Assert.True(KnownPatterns.StartsWithAny(counted, e.Runtime.Structure) || KnownPatterns.StartsWithAny(counted, e.Match.OnPath))));
    }
}
