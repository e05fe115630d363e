using HeapDiag.AspNetCore.Diagnostics;

namespace HeapDiag.AspNetCore.Monitoring;

/// <summary>
/// The last <see cref="Capacity"/> samples of the monitored metric (and of the three metrics, for the page's chart),
/// in a ring that never allocates after start.
/// The monitor writes it; <c>/memory</c>, <c>/monitor</c> and the leak indicators read it. Growth is the
/// least-squares slope over the window, which one noisy sample cannot swing the way rss/uptime swings at start.
/// </summary>
internal sealed class MemoryTrend : IMemoryGrowth
{
    public const int Capacity = 360;

    /// <summary>Fewer samples than this say nothing about a trend.</summary>
    public const int MinimumSamplesForTrend = 10;

    /// <summary>How many steps between consecutive samples rose, as a fraction of sample pairs: a leak rises step after step.</summary>
    public const double SustainedRisingFraction = 0.6;

    private readonly Lock _gate = new();
    private readonly long[] _ticks = new long[Capacity];
    private readonly long[] _values = new long[Capacity];
    private readonly long[] _workingSet = new long[Capacity];
    private readonly long[] _gcHeapSize = new long[Capacity];
    private readonly long[] _gcCommitted = new long[Capacity];
    private int _next;
    private int _count;
    private MemorySample? _last;

    public MemorySample? LastSample
    {
        get
        {
            lock (_gate)
            {
                return _last;
            }
        }
    }

    public void Add(MemorySample sample, long value)
    {
        lock (_gate)
        {
            _ticks[_next] = sample.Timestamp.UtcTicks;
            _values[_next] = value;
            _workingSet[_next] = sample.WorkingSetBytes;
            _gcHeapSize[_next] = sample.GcHeapSizeBytes;
            _gcCommitted[_next] = sample.GcCommittedBytes;
            _next = (_next + 1) % Capacity;
            _count = Math.Min(_count + 1, Capacity);
            _last = sample;
        }
    }

    /// <summary>The slope and the share of rising steps; sustained when both say "growing" above the given rate.</summary>
    public GrowthTrend Trend(double leakGrowthMbPerHour)
    {
        lock (_gate)
        {
            if (_count < 2)
            {
                return new GrowthTrend(0, _count, 0, false);
            }

            var start = (_next - _count + Capacity) % Capacity;
            var originTicks = _ticks[start];
            double sumX = 0, sumY = 0, sumXY = 0, sumXX = 0;
            var rising = 0;
            for (var i = 0; i < _count; i++)
            {
                var index = (start + i) % Capacity;
                var x = (_ticks[index] - originTicks) / (double)TimeSpan.TicksPerSecond;
                double y = _values[index];
                sumX += x;
                sumY += y;
                sumXY += x * y;
                sumXX += x * x;
                if (i > 0 && _values[index] > _values[(index - 1 + Capacity) % Capacity])
                {
                    rising++;
                }
            }

            var denominator = (_count * sumXX) - (sumX * sumX);
            var slope = denominator == 0 ? 0 : ((_count * sumXY) - (sumX * sumY)) / denominator;
            var risingFraction = rising / (double)(_count - 1);
            var trend = new GrowthTrend(slope, _count, risingFraction, false);
            return trend with
            {
                Sustained = _count >= MinimumSamplesForTrend && risingFraction >= SustainedRisingFraction && trend.MbPerHour > leakGrowthMbPerHour,
            };
        }
    }

    /// <summary>A copy of the window, oldest first, for <c>/monitor?window=true</c>.</summary>
    public IReadOnlyList<WindowPoint> Window()
    {
        lock (_gate)
        {
            var points = new WindowPoint[_count];
            var start = (_next - _count + Capacity) % Capacity;
            for (var i = 0; i < _count; i++)
            {
                var index = (start + i) % Capacity;
                // Whole milliseconds: the answer stays small (360 samples) and a person needs no finer time.
                var timestamp = new DateTimeOffset(_ticks[index] - (_ticks[index] % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
                points[i] = new WindowPoint(timestamp, _values[index], _workingSet[index], _gcHeapSize[index], _gcCommitted[index]);
            }

            return points;
        }
    }
}

/// <summary>One sample: <see cref="Bytes"/> is the monitored metric, then the three metrics it is chosen from.</summary>
internal sealed record WindowPoint(DateTimeOffset Timestamp, long Bytes, long WorkingSetBytes, long GcHeapSizeBytes, long GcCommittedBytes);
