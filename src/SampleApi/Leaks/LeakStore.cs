namespace SampleApi.Leaks;

/// <summary>
/// Holds what the demo leak routes leak, one collection per leak pattern, so that
/// <c>DELETE /leak</c> can let it all go. Each pattern keeps objects alive the way real code does by mistake.
/// </summary>
internal sealed class LeakStore : IDisposable
{
    /// <summary>Size of each leaked payload: small objects, so a dump shows many instances, as real leaks do.</summary>
    public const int PayloadBytes = 1024;

    private readonly Lock gate = new();
    private readonly List<CachedOrder> cache = [];
    private readonly List<Timer> timers = [];
    private readonly List<Func<int>> closures = [];
    private readonly List<PriceSubscriber> subscribers = [];

    /// <summary>A long-lived publisher; subscribers that never unsubscribe stay reachable through it.</summary>
    public event EventHandler? PriceChanged;

    public LeakReport Leak(LeakPattern pattern, int megabytes)
    {
        var count = megabytes * (1024 * 1024 / PayloadBytes);
        lock (gate)
        {
            var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < count; i++)
            {
                var payload = new byte[PayloadBytes];
                switch (pattern)
                {
                    case LeakPattern.Cache:
                        // An unbounded cache: entries are added and never evicted.
                        cache.Add(new CachedOrder(cache.Count, payload));
                        break;
                    case LeakPattern.Events:
                        // A handler attached to a long-lived event and never detached.
                        var subscriber = new PriceSubscriber(payload);
                        PriceChanged += subscriber.OnPriceChanged;
                        subscribers.Add(subscriber);
                        break;
                    case LeakPattern.Timers:
                        // A timer never disposed: its callback and the state it captures live as long as it does.
                        timers.Add(new Timer(static state => GC.KeepAlive(state), payload, TimeSpan.FromHours(1), TimeSpan.FromHours(1)));
                        break;
                    case LeakPattern.Closures:
                        // A lambda stored for later that captures a large variable.
                        closures.Add(() => payload.Length);
                        break;
                }
            }

            if (pattern == LeakPattern.Events)
            {
                // The publisher keeps publishing: every subscriber ever attached still runs.
                PriceChanged?.Invoke(this, EventArgs.Empty);
            }

            return Snapshot(pattern, count) with { AllocatedBytes = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore };
        }
    }

    public LeakReport Release()
    {
        lock (gate)
        {
            var released = cache.Count + subscribers.Count + timers.Count + closures.Count;
            cache.Clear();
            foreach (var subscriber in subscribers)
            {
                PriceChanged -= subscriber.OnPriceChanged;
            }

            subscribers.Clear();
            timers.ForEach(timer => timer.Dispose());
            timers.Clear();
            closures.Clear();
            return new LeakReport("all", -released, 0);
        }
    }

    public void Dispose() => Release();

    private LeakReport Snapshot(LeakPattern pattern, int added)
    {
        var held = pattern switch
        {
            LeakPattern.Cache => cache.Count,
            LeakPattern.Events => subscribers.Count,
            LeakPattern.Timers => timers.Count,
            _ => closures.Count,
        };
        return new LeakReport(pattern.ToString().ToLowerInvariant(), added, held);
    }
}

/// <summary>Four ways real code keeps memory alive by mistake.</summary>
internal enum LeakPattern
{
    Cache,
    Events,
    Timers,
    Closures,
}

/// <summary>An entry of the unbounded cache.</summary>
internal sealed record CachedOrder(int Id, byte[] Payload);

/// <summary>A subscriber that holds a buffer and is never unsubscribed.</summary>
internal sealed class PriceSubscriber(byte[] buffer)
{
    public void OnPriceChanged(object? sender, EventArgs e) => GC.KeepAlive(buffer);
}

/// <summary>
/// What a leak route did: objects added (negative when released), objects the pattern now holds, and the bytes the
/// leak allocated (so what the rest of the app allocates meanwhile can be told apart).
/// </summary>
internal sealed record LeakReport(string Pattern, int ObjectsAdded, int ObjectsHeld)
{
    public long AllocatedBytes { get; init; }
}
