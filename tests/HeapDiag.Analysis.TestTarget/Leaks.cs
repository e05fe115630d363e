using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;

namespace HeapDiag.Analysis.TestTarget;

/// <summary>
/// The five leak patterns the leak-suspect tests must name, each grown by <see cref="Grow"/> with items of about
/// <see cref="ItemBytes"/> bytes:
/// <list type="bullet">
/// <item><c>orders</c>: a static holder → <see cref="OrderCache"/> → <c>List&lt;Order&gt;</c> of orders, each holding a string (strings grow most by bytes; the list is the leak).</item>
/// <item><c>sessions</c>: a <c>Dictionary</c> cache in a DI singleton (<see cref="SessionCache"/>).</item>
/// <item><c>events</c>: an event on a DI singleton (<see cref="PricePublisher.PriceChanged"/>) whose subscribers never unsubscribe.</item>
/// <item><c>requests</c>: a <c>ConcurrentDictionary</c> keyed by request data (<see cref="RequestLog.ByRequest"/>).</item>
/// <item><c>timer</c>: a list captured by the closure of a timer callback that nobody disposes, and that the closure keeps alive itself.</item>
/// </list>
/// Not in <c>all</c>: <c>chain</c>, <c>family</c> and <c>payloads</c>, the deep shapes of <see cref="Shapes"/>.
/// </summary>
internal static class Leaks
{
    public const int ItemBytes = 1024;

    internal static readonly OrderCache Orders = new();

    /// <summary>The app's services; like a host's, they live as long as the process.</summary>
    internal static readonly ServiceProvider Services = new ServiceCollection()
        .AddSingleton<SessionCache>()
        .AddSingleton<PricePublisher>()
        .BuildServiceProvider();

    public static void Grow(string pattern, int count)
    {
        switch (pattern)
        {
            case "orders":
                Orders.Add(count);
                break;
            case "sessions":
                Services.GetRequiredService<SessionCache>().Add(count);
                break;
            case "events":
                Services.GetRequiredService<PricePublisher>().Subscribe(count);
                break;
            case "requests":
                RequestLog.Add(count);
                break;
            case "timer":
                StartTimerThatCaptures(count);
                break;
            case "chain":
                Shapes.GrowChain(count);
                break;
            case "family":
                Shapes.GrowFamily(count);
                break;
            case "payloads":
                Shapes.GrowPayloads(count);
                break;
            case "all":
                foreach (var each in new[] { "orders", "sessions", "events", "requests", "timer" })
                {
                    Grow(each, count);
                }

                break;
            default:
                if (!FrameworkLeaks.TryGrow(pattern, count) && !RuntimeLeaks.TryGrow(pattern, count))
                {
                    throw new InvalidOperationException($"unknown leak '{pattern}'");
                }

                break;
        }
    }

    private static void StartTimerThatCaptures(int count)
    {
        var received = new List<byte[]>(count);
        for (var i = 0; i < count; i++)
        {
            received.Add(new byte[ItemBytes]);
        }

        // Due in an hour, so the runtime's timer queue holds it. Its callback refers to the timer itself, so the timer
        // is never finalized (which would take it off the queue): it and everything its closure captures live forever.
        Timer? timer = null;
        timer = new Timer(_ => received.Add(new byte[timer is null ? 0 : ItemBytes]), null, TimeSpan.FromHours(1), TimeSpan.FromHours(1));
    }

    internal static string Text(string prefix, int i) =>
        string.Create(CultureInfo.InvariantCulture, $"{prefix}-{i}-{new string('x', (ItemBytes / 2) - 32)}");
}

/// <summary>A cache that only grows.</summary>
internal sealed class OrderCache
{
    private readonly List<Order> _orders = [];

    public void Add(int count)
    {
        for (var i = 0; i < count; i++)
        {
            _orders.Add(new Order(Leaks.Text("order", _orders.Count)));
        }
    }
}

/// <summary>An order: what each leaked item holds is a string.</summary>
internal sealed class Order(string id)
{
    public string Id { get; } = id;
}

/// <summary>A DI singleton with a dictionary nobody evicts from.</summary>
internal sealed class SessionCache
{
    private readonly Dictionary<string, Session> _sessions = [];

    public void Add(int count)
    {
        for (var i = 0; i < count; i++)
        {
            var key = string.Create(CultureInfo.InvariantCulture, $"session-{_sessions.Count}");
            _sessions[key] = new Session(new byte[Leaks.ItemBytes]);
        }
    }
}

internal sealed class Session(byte[] state)
{
    public byte[] State { get; } = state;
}

/// <summary>A DI singleton that publishes an event; subscribers attach and never detach.</summary>
internal sealed class PricePublisher
{
    public event EventHandler<EventArgs>? PriceChanged;

    public void Subscribe(int count)
    {
        for (var i = 0; i < count; i++)
        {
            PriceChanged += new PriceWatcher(new byte[Leaks.ItemBytes]).OnPriceChanged;
        }
    }

    public void Publish() => PriceChanged?.Invoke(this, EventArgs.Empty);
}

internal sealed class PriceWatcher(byte[] buffer)
{
    public void OnPriceChanged(object? sender, EventArgs e) => GC.KeepAlive(buffer);
}

/// <summary>Responses cached by request, keyed by what the client sent: unbounded.</summary>
internal static class RequestLog
{
    internal static readonly ConcurrentDictionary<string, byte[]> ByRequest = new();

    public static void Add(int count)
    {
        for (var i = 0; i < count; i++)
        {
            ByRequest[string.Create(CultureInfo.InvariantCulture, $"GET /orders/{ByRequest.Count}?customer=c{i % 97}")] = new byte[Leaks.ItemBytes];
        }
    }
}
