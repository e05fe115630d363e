namespace HeapDiag.Analysis.Internal.Suspects;

/// <summary>What a pattern is matched on: the suspect's root path and types. Every list that is not empty must match.</summary>
/// <param name="OnPath">Prefixes of type names of which at least one must be on the root path (root and steps).</param>
/// <param name="RootKinds">The path's root kind is one of these.</param>
/// <param name="HoldsKinds">What the accumulation point holds is of one of these kinds (<see cref="CollectionContents.Kind"/>).</param>
/// <param name="Holding">Prefixes of the type of the accumulation point, of what it holds, or of a group's instances.</param>
/// <param name="Unless">Facts read from the dump (<see cref="PatternFacts"/>) of which none may hold.</param>
/// <param name="Requires">Facts read from the dump of which every one must hold.</param>
internal sealed record PatternMatch(string[] OnPath, string[] RootKinds, string[] HoldsKinds, string[] Holding, string[]? Unless = null, string[]? Requires = null);

/// <summary>
/// The runtime's own structure behind a pattern, whose objects are grouped into one suspect named by the
/// application type they keep.
/// </summary>
/// <param name="Counted">Full names of the types counted: one object per leaked registration (the timer, the linked source, the subscription).</param>
/// <param name="Structure">Prefixes of the runtime's types that hold them: a suspect found inside these is part of the group.</param>
/// <param name="Kind">What the counted objects are, for <see cref="CollectionContents.Kind"/>: <c>timers</c>.</param>
/// <param name="Noun">The headline's name of them: <c>undisposed timers (System.Threading.Timer)</c>; <c>{root}</c> stands for the root's name (a thread static's field).</param>
/// <param name="Keeps">How they keep the application's object: <c>whose callbacks target</c>.</param>
/// <param name="RootKind">
/// For a structure whose objects are of any type (the finalizer queue): the root kind every sampled path of a group of
/// same-typed objects starts at; <paramref name="Counted"/> is then empty.
/// </param>
/// <param name="Variants">A counted object that references a type of this prefix is named by this noun instead (a PeriodicTimer's timer).</param>
internal sealed record RuntimeHold(string[] Counted, string[] Structure, string Kind, string Noun, string Keeps, string? RootKind = null, RuntimeVariant[]? Variants = null);

/// <summary>Another name for the counted objects of a <see cref="RuntimeHold"/>: those that reference a type of prefix <paramref name="Via"/>.</summary>
internal sealed record RuntimeVariant(string Via, string Noun);

/// <summary>One entry of the catalogue: the pattern as reported, what it is matched on, and its runtime structure if it has one.</summary>
internal sealed record KnownPattern(LeakPattern Pattern, PatternMatch Match, RuntimeHold? Runtime);

/// <summary>What a suspect is matched with: its root path, the types at its accumulation point and what was read of them (<see cref="PatternFacts"/>).</summary>
internal sealed record PatternSubject(SuspectPath Path, string PointType, CollectionContents? Holds, string SuspectType, IReadOnlySet<string>? Facts = null);

/// <summary>
/// The catalogue of known .NET retention patterns, as LeakCanary labels library leaks: each suspect is matched
/// against the entries in order and carries the first that matches, else <see cref="Application"/>. The catalogue is
/// data; to add a pattern, add an entry (and a test that a dump of it matches).
/// </summary>
internal static class KnownPatterns
{
    private const string Docs = "https://learn.microsoft.com/";

    /// <summary>What a suspect that matches no entry is.</summary>
    public static readonly LeakPattern Application = new(
        "application-leak",
        "application leak",
        "The application's own objects hold this memory; it matches none of the known .NET retention patterns.",
        "Follow the path to the accumulation point and make it let go of what it holds: remove, evict or bound its items when they are no longer needed.",
        Docs + "dotnet/core/diagnostics/debug-memory-leak");

    private static readonly string[] Collections =
    [
        "List", "Dictionary", "HashSet", "Queue", "Stack", "LinkedList", "SortedDictionary", "SortedSet", "SortedList",
        "ConcurrentDictionary", "ConcurrentQueue", "ConcurrentBag", "ConcurrentStack", "ArrayList", "Hashtable",
        "ImmutableDictionary", "ImmutableList", "ImmutableHashSet", Containers.ArrayKind,
    ];

    /// <summary>The entries, matched in this order.</summary>
    public static IReadOnlyList<KnownPattern> All { get; } =
    [
        new(
            new("undisposed-timer", "undisposed Timer",
                "A System.Threading.Timer (or PeriodicTimer) stays in the runtime's timer queue until it is disposed, and keeps its callback's target and state alive with it; a callback that refers to its owner keeps both forever.",
                "Dispose every Timer and PeriodicTimer when its owner is done (a using, or the owner's Dispose); do not rely on the finalizer.",
                Docs + "dotnet/api/system.threading.timer#remarks"),
            new(["System.Threading.TimerQueue", "System.Threading.PeriodicTimer"], [], [], []),
            new(["System.Threading.TimerQueueTimer"],
                ["System.Threading.TimerQueue", "System.Threading.TimerHolder", "System.Threading.Timer", "System.Threading.PeriodicTimer", "System.Threading.ThreadPoolWorkQueue"],
                "timers", "undisposed timers (System.Threading.Timer)", "whose callbacks target",
                Variants: [new("System.Threading.PeriodicTimer", "undisposed PeriodicTimers")])),
        new(
            new("thread-pool-work-items", "thread-pool work items that never run",
                "Work queued to the thread pool (ThreadPool.QueueUserWorkItem) stays in its queue, with everything its callback and state reference, until a pool thread runs it; while every pool thread is blocked, or items are queued faster than they run, the queue only grows.",
                "Do not block pool threads (sync over async, .Wait() or .Result, long locks); bound what is queued (a Channel with a capacity, a SemaphoreSlim) and run long-blocking work on a dedicated thread.",
                Docs + "dotnet/standard/threading/the-managed-thread-pool"),
            new(["System.Threading.ThreadPoolWorkQueue"], [], [], []),
            new(["System.Threading.QueueUserWorkItemCallback", "System.Threading.QueueUserWorkItemCallbackDefaultContext"],
                ["System.Threading.ThreadPoolWorkQueue", "System.Threading.QueueUserWorkItemCallback"],
                "work items", "thread-pool work items queued and never run", "whose callbacks target")),
        new(
            new("linked-cancellation-token-source", "linked CancellationTokenSource never disposed",
                "CancellationTokenSource.CreateLinkedTokenSource registers the new source on every token it links; until it is disposed, a long-lived token (the app's stopping token, a singleton's source) keeps it and its callbacks alive.",
                "Dispose each linked source when the operation ends: using var linked = CancellationTokenSource.CreateLinkedTokenSource(…).",
                Docs + "dotnet/api/system.threading.cancellationtokensource.createlinkedtokensource"),
            new(["System.Threading.CancellationTokenSource+Linked"], [], [], []),
            new(["System.Threading.CancellationTokenSource+Linked1CancellationTokenSource", "System.Threading.CancellationTokenSource+Linked2CancellationTokenSource", "System.Threading.CancellationTokenSource+LinkedNCancellationTokenSource"],
                ["System.Threading.CancellationTokenSource"],
                "linked CancellationTokenSources", "linked CancellationTokenSources never disposed", "whose callbacks target")),
        new(
            new("diagnostic-listener-subscription", "DiagnosticListener subscription never disposed",
                "DiagnosticListener.Subscribe and DiagnosticListener.AllListeners.Subscribe keep every observer until the IDisposable they return is disposed; listeners live as long as the process.",
                "Keep the IDisposable that Subscribe returns and dispose it when the observer is done; subscribe once, not per request.",
                Docs + "dotnet/core/diagnostics/diagnosticsource-diagnosticlistener"),
            new(["System.Diagnostics.DiagnosticListener"], [], [], []),
            new(["System.Diagnostics.DiagnosticListener+DiagnosticSubscription", "System.Diagnostics.DiagnosticListener+AllListenerObservable+AllListenerSubscription"],
                ["System.Diagnostics.DiagnosticListener"],
                "DiagnosticListener subscriptions", "DiagnosticListener subscriptions never disposed", "whose observers are")),
        new(
            new("finalizer-queue", "objects waiting for a finalizer that does not run",
                "Objects with a finalizer that are no longer referenced wait in the finalizer queue, with everything they reference, until the finalizer thread runs them; a finalizer that blocks, or objects dropped faster than it finalizes them, keeps them all.",
                "Dispose these objects (and call GC.SuppressFinalize in Dispose) instead of leaving them to the finalizer; keep finalizers short and never blocking: a thread dump shows what the finalizer thread waits on.",
                Docs + "dotnet/standard/garbage-collection/implementing-dispose"),
            new([], [RootKinds.FinalizerQueue], [], []),
            new([], [], "objects waiting for finalization", "objects in the finalizer queue", "of type", RootKind: RootKinds.FinalizerQueue)),
        new(
            new("thread-static-values", "values kept by thread statics or ThreadLocal",
                "A [ThreadStatic] field, and the ThreadLocal<T> built on them, keeps one value per thread for as long as the thread lives; thread-pool and long-running threads live as long as the process, so what each adds to its value only accumulates.",
                "Clear or reset the per-thread value when the work that filled it is done, keep only small reusable state there (a pool such as ArrayPool instead of a growing list), and dispose a ThreadLocal<T> that is no longer needed.",
                Docs + "dotnet/api/system.threading.threadlocal-1"),
            new([], [RootKinds.ThreadStatic], [], []),
            new([], [], "thread-static values", "values of the thread static {root}", "holding", RootKind: RootKinds.ThreadStatic)),
        new(
            new("memory-cache-unbounded", "IMemoryCache without SizeLimit or expiration",
                "An IMemoryCache keeps every entry until it expires or the cache compacts to its SizeLimit; with neither, entries added per request only accumulate.",
                "Set MemoryCacheOptions.SizeLimit and give every entry a Size, and set an expiration (AbsoluteExpirationRelativeToNow or SlidingExpiration) on entries.",
                Docs + "aspnet/core/performance/caching/memory#use-setsize-size-and-sizelimit-to-limit-cache-size"),
            new(["Microsoft.Extensions.Caching.Memory.MemoryCache"], [], [], [], Unless: [PatternFacts.MemoryCacheBounded]),
            null),
        new(
            new("memory-cache-bounded", "IMemoryCache within its SizeLimit or expirations",
                "This IMemoryCache has a SizeLimit, or its entries expire: it holds what its limit and expirations allow, which is not a leak by itself but is this much memory.",
                "If it is too much, lower MemoryCacheOptions.SizeLimit (and make each entry's Size reflect its bytes) or shorten the entries' expirations.",
                Docs + "aspnet/core/performance/caching/memory#use-setsize-size-and-sizelimit-to-limit-cache-size"),
            new(["Microsoft.Extensions.Caching.Memory.MemoryCache"], [], [], [], Requires: [PatternFacts.MemoryCacheBounded]),
            null),
        new(
            new("http-client-per-request", "HttpClient or handler created per request",
                "Each HttpClient and message handler owns a connection pool and its sockets; created per request and kept, they accumulate.",
                "Use IHttpClientFactory (services.AddHttpClient) or one long-lived HttpClient with SocketsHttpHandler.PooledConnectionLifetime.",
                Docs + "dotnet/fundamentals/networking/http/httpclient-guidelines"),
            new([], [], [], ["System.Net.Http.HttpClient", "System.Net.Http.HttpMessageHandler", "System.Net.Http.SocketsHttpHandler", "System.Net.Http.HttpClientHandler", "System.Net.Http.HttpConnectionPool"]),
            null),
        new(
            new("singleton-event-handlers", "event handlers on a singleton never removed",
                "An event keeps every subscriber alive as long as its publisher; a publisher that is a singleton or static lives as long as the process.",
                "Remove the handler (-=) when the subscriber is done, usually in its Dispose, or subscribe through an IDisposable that is disposed.",
                Docs + "dotnet/standard/events/"),
            new([], [RootKinds.StaticField, PathRenderer.ServiceProviderKind], [Containers.EventKind], []),
            null),
        new(
            new("static-collection-grows", "static collection that only grows",
                "A collection reachable from a static field lives as long as the process; whatever is added and never removed accumulates.",
                "Bound it: remove entries when they are done, evict the oldest past a size limit, or use an IMemoryCache with SizeLimit and expirations.",
                Docs + "dotnet/core/diagnostics/debug-memory-leak"),
            new([], [RootKinds.StaticField], Collections, []),
            null),
    ];

    /// <summary>The first entry the suspect matches, else <see cref="Application"/>.</summary>
    public static LeakPattern Match(PatternSubject subject) =>
        All.FirstOrDefault(entry => Matches(entry.Match, subject))?.Pattern ?? Application;

    /// <summary>Whether <paramref name="typeName"/> is one of <paramref name="counted"/>, or a generic instance of one (<c>QueueUserWorkItemCallback&lt;T&gt;</c>).</summary>
    public static bool IsCounted(string typeName, string[] counted) =>
        counted.Any(name => typeName.StartsWith(name, StringComparison.Ordinal) && (typeName.Length == name.Length || typeName[name.Length] == '<'));

    /// <summary>Whether <paramref name="typeName"/> starts with one of <paramref name="prefixes"/>.</summary>
    public static bool StartsWithAny(string? typeName, string[] prefixes) =>
        typeName is not null && prefixes.Any(prefix => typeName.StartsWith(prefix, StringComparison.Ordinal));

    private static bool Matches(PatternMatch match, PatternSubject subject) =>
        (match.Unless is null || !match.Unless.Any(fact => subject.Facts?.Contains(fact) == true))
        && (match.Requires is null || match.Requires.All(fact => subject.Facts?.Contains(fact) == true))
        && (match.OnPath.Length == 0 || subject.Path.Steps.Any(step => StartsWithAny(step.TypeName, match.OnPath)) || StartsWithAny(subject.Path.Root, match.OnPath))
        && (match.RootKinds.Length == 0 || match.RootKinds.Contains(subject.Path.RootKind, StringComparer.Ordinal))
        && (match.HoldsKinds.Length == 0 || (subject.Holds is { } holds && match.HoldsKinds.Contains(holds.Kind, StringComparer.Ordinal)))
        && (match.Holding.Length == 0
            || StartsWithAny(subject.PointType, match.Holding)
            || StartsWithAny(subject.SuspectType, match.Holding)
            || StartsWithAny(subject.Holds?.ElementType, match.Holding));
}
