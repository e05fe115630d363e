using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;

namespace HeapDiag.Analysis.TestTarget;

/// <summary>
/// Leaks a report must name in the app's own words, one per row of issue #25's table, each grown by
/// <see cref="TryGrow"/> with items of about <see cref="Leaks.ItemBytes"/> bytes:
/// <list type="bullet">
/// <item><c>zoo</c>: one static holder (<see cref="Zoo.Services"/>) reaches all of it; the list under it is the leak, the rest is spread over ten fields.</item>
/// <item><c>memorycache</c>: <c>AddMemoryCache()</c>, an entry per request, no limit and no expiration.</item>
/// <item><c>bag</c>: a static <c>ConcurrentBag&lt;string&gt;</c>.</item>
/// <item><c>timers</c>: undisposed timers whose callbacks target an app object that keeps its timer (<see cref="EphemeralOperation"/>).</item>
/// <item><c>cts</c>: a linked <c>CancellationTokenSource</c> per request on a singleton's token, never disposed.</item>
/// <item><c>listener</c>: a <c>DiagnosticListener</c> subscription per request, never disposed.</item>
/// <item><c>reports</c>: a static <c>ConcurrentDictionary</c> of large strings; then <c>resizing</c>: threads writing to it and one holding its insides on its stack.</item>
/// </list>
/// </summary>
internal static class FrameworkLeaks
{
    internal static readonly ServiceProvider Services = new ServiceCollection()
        .AddMemoryCache()
        .AddSingleton<ShutdownSignal>()
        .BuildServiceProvider();

    internal static readonly DiagnosticListener Listener = new("HeapDiag.TestTarget.Requests");

    public static bool TryGrow(string pattern, int count)
    {
        switch (pattern)
        {
            case "zoo":
                Zoo.Services.Fill(count);
                return true;
            case "memorycache":
                var cache = Services.GetRequiredService<IMemoryCache>();
                for (var i = 0; i < count; i++)
                {
                    cache.Set(string.Create(CultureInfo.InvariantCulture, $"report-{i}"), new CachedReport(new byte[Leaks.ItemBytes]));
                }

                return true;
            case "bag":
                StringStore.Add(count);
                return true;
            case "timers":
                EphemeralOperation.Start(count);
                return true;
            case "cts":
                RequestOperation.Start(Services.GetRequiredService<ShutdownSignal>().Stopping, count);
                return true;
            case "listener":
                for (var i = 0; i < count; i++)
                {
                    Listener.Subscribe(new RequestObserver(new byte[Leaks.ItemBytes]));
                }

                return true;
            case "reports":
                ReportController.Fill(count);
                return true;
            case "resizing":
                ReportController.StartWriters();
                return true;
            default:
                return false;
        }
    }
}

/// <summary>A holder of everything: the animals are the leak; ten enclosures each hold a share too small to be a suspect.</summary>
internal static class Zoo
{
    internal static readonly ZooServices Services = new();
}

internal sealed class ZooServices
{
    private readonly List<Animal> _animals = [];
    private Enclosure? _lions, _tigers, _bears, _wolves, _seals, _owls, _snakes, _otters, _zebras, _camels;

    public IEnumerable<Enclosure?> Enclosures => [_lions, _tigers, _bears, _wolves, _seals, _owls, _snakes, _otters, _zebras, _camels];

    public void Fill(int count)
    {
        for (var i = 0; i < count; i++)
        {
            _animals.Add(new Animal(new byte[Leaks.ItemBytes]));
        }

        // Ten fields of ~7 % of the animals each: together ~43 % of the zoo, each far below a suspect's share.
        var size = count * 80;
        (_lions, _tigers, _bears, _wolves, _seals) = (new(new byte[size]), new(new byte[size]), new(new byte[size]), new(new byte[size]), new(new byte[size]));
        (_owls, _snakes, _otters, _zebras, _camels) = (new(new byte[size]), new(new byte[size]), new(new byte[size]), new(new byte[size]), new(new byte[size]));
    }
}

internal sealed class Animal(byte[] food)
{
    public byte[] Food { get; } = food;
}

internal sealed class Enclosure(byte[] ground)
{
    public byte[] Ground { get; } = ground;
}

internal sealed class CachedReport(byte[] content)
{
    public byte[] Content { get; } = content;
}

internal static class StringStore
{
    private static readonly ConcurrentBag<string> StaticStrings = [];

    public static void Add(int count)
    {
        for (var i = 0; i < count; i++)
        {
            StaticStrings.Add(Leaks.Text("bag", i));
        }
    }
}

/// <summary>An operation that starts a timer and never disposes it; the timer's callback is the operation's own method.</summary>
internal sealed class EphemeralOperation
{
    private readonly byte[] _state = new byte[Leaks.ItemBytes];
    private readonly Timer _timer;

    private EphemeralOperation() => _timer = new Timer(OnTick, null, TimeSpan.FromHours(1), TimeSpan.FromHours(1));

    public static void Start(int count)
    {
        for (var i = 0; i < count; i++)
        {
            GC.KeepAlive(new EphemeralOperation());
        }
    }

    private void OnTick(object? state) => GC.KeepAlive((_state, _timer));
}

/// <summary>A singleton whose token lives as long as the app (like IHostApplicationLifetime.ApplicationStopping).</summary>
internal sealed class ShutdownSignal
{
    private readonly CancellationTokenSource _source = new();

    public CancellationToken Stopping => _source.Token;
}

/// <summary>Per request: a source linked to the app's token and the request's, never disposed.</summary>
internal sealed class RequestOperation
{
    private readonly byte[] _buffer = new byte[Leaks.ItemBytes];
    private readonly CancellationTokenSource _linked;

    private RequestOperation(CancellationToken stopping, CancellationToken aborted)
    {
        _linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, aborted);
        _linked.Token.Register(static state => ((RequestOperation)state!).Cancel(), this);
    }

    public static void Start(CancellationToken stopping, int count)
    {
        for (var i = 0; i < count; i++)
        {
            using var request = new CancellationTokenSource();
            GC.KeepAlive(new RequestOperation(stopping, request.Token));
        }
    }

    private void Cancel() => GC.KeepAlive(_buffer);
}

internal sealed class RequestObserver(byte[] buffer) : IObserver<KeyValuePair<string, object?>>
{
    public void OnCompleted() => GC.KeepAlive(buffer);

    public void OnError(Exception error) => GC.KeepAlive(buffer);

    public void OnNext(KeyValuePair<string, object?> value) => GC.KeepAlive(buffer);
}

/// <summary>
/// A static cache of large strings that requests keep writing to. One thread holds the dictionary's current tables on
/// its stack, as a thread in the middle of adding or resizing does, when the dump is taken.
/// </summary>
internal static class ReportController
{
    public const int StringChars = 128 * 1024;

    private static readonly ConcurrentDictionary<string, string> Cache = new();

    public static void Fill(int count)
    {
        for (var i = 0; i < count; i++)
        {
            Cache[Key(i)] = string.Create(CultureInfo.InvariantCulture, $"{i}:{new string('r', StringChars)}");
        }
    }

    public static void StartWriters()
    {
        var count = Cache.Count;
        var holding = new ManualResetEventSlim();
        StartThread(() => HoldTables(holding));
        holding.Wait();
        for (var writer = 0; writer < 2; writer++)
        {
            var seed = writer;
            StartThread(() => Rewrite(seed, count));
        }
    }

    private static void HoldTables(ManualResetEventSlim holding)
    {
        var tables = typeof(ConcurrentDictionary<string, string>).GetField("_tables", BindingFlags.Instance | BindingFlags.NonPublic)!.GetValue(Cache);
        holding.Set();
        Thread.Sleep(Timeout.Infinite);
        GC.KeepAlive(tables);
    }

    /// <summary>Requests writing existing keys again (the same values, so the cache neither grows nor resizes under the held tables).</summary>
    private static void Rewrite(int seed, int count)
    {
        for (var i = seed; ; i = (i + 1) % count)
        {
            Cache.AddOrUpdate(Key(i), _ => string.Empty, (_, value) => value);
            Thread.Sleep(1);
        }
    }

    private static string Key(int i) => string.Create(CultureInfo.InvariantCulture, $"report-{i}");

    private static void StartThread(ThreadStart body) => new Thread(body) { IsBackground = true }.Start();
}
