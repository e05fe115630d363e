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

    private readonly Lock gate = new();
    private readonly long[] ticks = new long[Capacity];
    private readonly long[] values = new long[Capacity];
    private readonly long[] workingSet = new long[Capacity];
    private readonly long[] gcHeapSize = new long[Capacity];
    private readonly long[] gcCommitted = new long[Capacity];
    private int next;
    private int count;
    private MemorySample? last;

    public MemorySample? LastSample
    {
        get
        {
            lock (gate)
            {
                return last;
            }
        }
    }

    public void Add(MemorySample sample, long value)
    {
        lock (gate)
        {
            ticks[next] = sample.Timestamp.UtcTicks;
            values[next] = value;
            workingSet[next] = sample.WorkingSetBytes;
            gcHeapSize[next] = sample.GcHeapSizeBytes;
            gcCommitted[next] = sample.GcCommittedBytes;
            next = (next + 1) % Capacity;
            count = Math.Min(count + 1, Capacity);
            last = sample;
        }
    }

    /// <summary>The slope and the share of rising steps; sustained when both say "growing" above the given rate.</summary>
    public GrowthTrend Trend(double leakGrowthMbPerHour)
    {
        lock (gate)
        {
            if (count < 2)
            {
                return new GrowthTrend(0, count, 0, false);
            }

            var start = (next - count + Capacity) % Capacity;
            var originTicks = ticks[start];
            double sumX = 0, sumY = 0, sumXY = 0, sumXX = 0;
            var rising = 0;
            for (var i = 0; i < count; i++)
            {
                var index = (start + i) % Capacity;
                var x = (ticks[index] - originTicks) / (double)TimeSpan.TicksPerSecond;
                double y = values[index];
                sumX += x;
                sumY += y;
                sumXY += x * y;
                sumXX += x * x;
                if (i > 0 && values[index] > values[(index - 1 + Capacity) % Capacity])
                {
                    rising++;
                }
            }

            var denominator = (count * sumXX) - (sumX * sumX);
            var slope = denominator == 0 ? 0 : ((count * sumXY) - (sumX * sumY)) / denominator;
            var risingFraction = rising / (double)(count - 1);
            var trend = new GrowthTrend(slope, count, risingFraction, false);
            return trend with
            {
                Sustained = count >= MinimumSamplesForTrend && risingFraction >= SustainedRisingFraction && trend.MbPerHour > leakGrowthMbPerHour,
            };
        }
    }

    /// <summary>A copy of the window, oldest first, for <c>/monitor?window=true</c>.</summary>
    public IReadOnlyList<WindowPoint> Window()
    {
        lock (gate)
        {
            var points = new WindowPoint[count];
            var start = (next - count + Capacity) % Capacity;
            for (var i = 0; i < count; i++)
            {
                var index = (start + i) % Capacity;
                // Whole milliseconds: the answer stays small (360 samples) and a person needs no finer time.
                var timestamp = new DateTimeOffset(ticks[index] - (ticks[index] % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
                points[i] = new WindowPoint(timestamp, values[index], workingSet[index], gcHeapSize[index], gcCommitted[index]);
            }

            return points;
        }
    }
}

/// <summary>One sample: <see cref="Bytes"/> is the monitored metric, then the three metrics it is chosen from.</summary>
internal sealed record WindowPoint(DateTimeOffset Timestamp, long Bytes, long WorkingSetBytes, long GcHeapSizeBytes, long GcCommittedBytes);
