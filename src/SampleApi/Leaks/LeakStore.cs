namespace SampleApi.Leaks;

/// <summary>
/// Holds what the demo leak routes leak, one collection per leak pattern, so that
/// <c>DELETE /leak</c> can let it all go. Each pattern keeps objects alive the way real code does by mistake.
/// </summary>
internal sealed class LeakStore : IDisposable
{
    /// <summary>Size of each leaked payload: small objects, so a dump shows many instances, as real leaks do.</summary>
    public const int PayloadBytes = 1024;

    private readonly Lock _gate = new();
    private readonly List<CachedOrder> _cache = [];
    private readonly List<Timer> _timers = [];
    private readonly List<Func<int>> _closures = [];
    private readonly List<PriceSubscriber> _subscribers = [];

    /// <summary>A long-lived publisher; subscribers that never unsubscribe stay reachable through it.</summary>
    public event EventHandler? PriceChanged;

    /// <summary>The leaks outside the GC heap (<c>/leak/native</c>, <c>/threads</c>, <c>/assemblies</c>, <c>/pinned</c>), released with these.</summary>
    public OutsideHeapLeaks OutsideHeap { get; } = new();

    public LeakReport Leak(LeakPattern pattern, int megabytes)
    {
        var count = megabytes * (1024 * 1024 / PayloadBytes);
        lock (_gate)
        {
            var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < count; i++)
            {
                var payload = new byte[PayloadBytes];
                switch (pattern)
                {
                    case LeakPattern.Cache:
                        // An unbounded cache: entries are added and never evicted.
                        _cache.Add(new CachedOrder(_cache.Count, payload));
                        break;
                    case LeakPattern.Events:
                        // A handler attached to a long-lived event and never detached.
                        var subscriber = new PriceSubscriber(payload);
                        PriceChanged += subscriber.OnPriceChanged;
                        _subscribers.Add(subscriber);
                        break;
                    case LeakPattern.Timers:
                        // A timer never disposed: its callback and the state it captures live as long as it does.
                        _timers.Add(new Timer(static state => GC.KeepAlive(state), payload, TimeSpan.FromHours(1), TimeSpan.FromHours(1)));
                        break;
                    case LeakPattern.Closures:
                        // A lambda stored for later that captures a large variable.
                        _closures.Add(() => payload.Length);
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
        lock (_gate)
        {
            var released = _cache.Count + _subscribers.Count + _timers.Count + _closures.Count + OutsideHeap.Release();
            _cache.Clear();
            // Every subscriber is one of ours: dropping the list at once, rather than removing each (a copy of the
            // whole invocation list apiece), keeps releasing 100,000 of them from taking minutes.
            PriceChanged = null;
            _subscribers.Clear();
            _timers.ForEach(timer => timer.Dispose());
            _timers.Clear();
            _closures.Clear();
            return new LeakReport("all", -released, 0);
        }
    }

    public void Dispose() => Release();

    private LeakReport Snapshot(LeakPattern pattern, int added)
    {
        var held = pattern switch
        {
            LeakPattern.Cache => _cache.Count,
            LeakPattern.Events => _subscribers.Count,
            LeakPattern.Timers => _timers.Count,
            _ => _closures.Count,
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
