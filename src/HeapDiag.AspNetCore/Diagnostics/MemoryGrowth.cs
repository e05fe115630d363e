namespace HeapDiag.AspNetCore.Diagnostics;

/// <summary>What a window of samples says about growth.</summary>
internal readonly record struct GrowthTrend(double BytesPerSecond, int Samples, double RisingFraction, bool Sustained)
{
    public double MbPerHour => BytesPerSecond * 3600 / (1024 * 1024);
}

/// <summary>
/// Growth over the monitor's window of samples, as the diagnostics read it. The monitor keeps the window; the
/// diagnostics only ask, so they depend on this and not on the monitor.
/// </summary>
internal interface IMemoryGrowth
{
    /// <summary>The slope over the window and whether it is sustained past <paramref name="leakGrowthMbPerHour"/>.</summary>
    GrowthTrend Trend(double leakGrowthMbPerHour);
}
